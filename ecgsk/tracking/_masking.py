"""Keep credentials out of what is logged."""

import re

__all__ = ["mask_secrets", "is_secret_key", "MASK"]

MASK = "***"

# user:password@ in a URI. The password may hold "/" (SQLAlchemy reads up to the "@"); a
# URI with a port and an "@" later in its path has that part masked too, which is safe.
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*):(?P<secret>[^@\s]+)@")
# A lone user in an http(s) URI is a token as often as a name (https://ghp_x@github.com).
_HTTP_USER = re.compile(r"(?i)(?P<head>\b(?:git\+)?(?:https?|wss?)://)[^:/@\s]+@")
# key=value pairs whose key names a secret (URI queries, option strings).
_WORDS = r"(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|secret[_-]?key|" \
         r"private[_-]?key|passphrase|auth|authorization|credentials?|creds?|sig|signature)"
# With "=" the key may end in a secret word (dbpassword=); so may it with ":" (PGPASSWORD:,
# accessToken:), but for the short words "auth" and "sig", which must be a part of the key of
# their own there (x-auth-token:), so that psycopg2's "fe_sendauth: no password supplied" keeps
# its "no".
_LONG_WORDS = r"(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|" \
              r"secret[_-]?key|private[_-]?key|passphrase|authorization|credentials?|creds|" \
              r"signature)"
# The key and the value may be quoted, as in a dict's repr or JSON: {'password': 'x'}; a
# quoted value is masked to its closing quote (libpq's password='p w').
_KEY_VALUE = re.compile(r"(?i)(?P<key>(?:\b[\w.\-]*" + _WORDS + r"\b['\"]?\s*="
                        r"|\b[\w.\-]*" + _LONG_WORDS + r"\b['\"]?\s*:"
                        r"|\b(?:[\w.\-]*[_.\-])?(?:auth|sig)\b['\"]?\s*:)\s*)"
                        # Not a URI's user whose password is masked already
                        # (https://x-access-token:***@host kept its host).
                        r"(?!" + re.escape(MASK) + "@)"
                        # A quoted value to its closing quote, spaces and all ('p w'),
                        # bytes and raw strings too (b'pw').
                        r"(?:(?P<pre>[bBrR]{0,2})(?P<q>['\"])(?:\\.|(?!(?P=q)).)*(?P=q)"
                        # A tuple or list, to its closing bracket: auth=('user', 'pw').
                        r"|(?P<b>\((?:[^()])*\)|\[(?:[^\[\]])*\])"
                        # Unquoted, or an opening quote that never closes.
                        r"|(?P<open>['\"]?)(?P<secret>[^\s&,;'\"}]+))")
_BEARER = re.compile(r"(?i)(?P<key>\bbearer\s+)(?P<secret>[A-Za-z0-9\-._~+/]+=*)")
# The credentials after an Authorization header's scheme ("Authorization: Basic x"); the
# key-value rule alone masked the scheme's name and kept them.
_AUTH_SCHEME = re.compile(r"(?i)(?P<key>\bauthorization\b['\"]?\s*[:=]\s*['\"]?"
                          r"[A-Za-z][\w\-]*\s+)(?P<secret>[^\s'\",;]+)")
_SECRET_PARTS = {"password", "passwd", "pwd", "secret", "token", "apikey", "credential",
                 "credentials", "cred", "creds", "auth", "passphrase"}
_SECRET_SUFFIXES = ("api_key", "access_key", "secret_key", "auth_token", "access_token",
                    "private_key", "privatekey", "apikey", "accesskey", "password", "passwd",
                    "passphrase", "secret")


def mask_secrets(text):
    """Replace passwords and tokens in ``text`` by ``***``.

    Masks the password of ``scheme://user:password@host`` URIs, the lone user
    of ``https://token@host`` URIs (often a token), the value of
    ``key=value`` pairs whose key names a secret (``password``, ``token``,
    ``api_key``, ``secret``, ``private_key``...; a quoted, tuple or list
    value to its end), ``Bearer`` tokens and the credentials of an
    ``Authorization`` header (``Basic ...``).

    Parameters
    ----------
    text : str or object
        The text; another object (an exception, a path) is turned into its
        ``str``.

    Returns
    -------
    str
        ``text`` with its secrets replaced by ``***``.

    Examples
    --------
    >>> mask_secrets("postgresql://me:hunter2@db:5432/mlflow")
    'postgresql://me:***@db:5432/mlflow'
    >>> mask_secrets("https://host/api?token=abc&page=2")
    'https://host/api?token=***&page=2'
    """
    text = str(text)
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)
    text = _HTTP_USER.sub(lambda m: f"{m['head']}{MASK}@", text)
    text = _BEARER.sub(lambda m: f"{m['key']}{MASK}", text)
    text = _AUTH_SCHEME.sub(lambda m: f"{m['key']}{MASK}", text)
    return _KEY_VALUE.sub(
        lambda m: (f"{m['key']}{m['pre']}{m['q']}{MASK}{m['q']}" if m["q"]
                   else f"{m['key']}{MASK}" if m["b"]
                   else f"{m['key']}{m['open']}{MASK}"), text)


def is_secret_key(key):
    """Whether a parameter name names a secret (``db_password``, ``api_key``, ``token``).

    The name is split on ``_ . -``, ``__`` and camelCase humps, acronyms
    too; ``max_tokens`` and ``maxTokens`` are not secrets, ``dbPassword``,
    ``clientSecret``, ``accessToken``, ``secretKey``, ``HFToken`` and
    ``X-Api-Key`` are.
    """
    last = str(key).split("__")[-1]
    # accessToken: access_token; HFToken: hf_token (an acronym of 2 letters or more: OAuth
    # stays whole)
    last = re.sub(r"(?<=[A-Z][A-Z])(?=[A-Z][a-z])|(?<=[a-z0-9])(?=[A-Z])", "_", last).lower()
    last = re.sub(r"[.\-]+", "_", last)  # api-key, api.key: api_key, as the suffixes read
    if last.endswith(_SECRET_SUFFIXES):
        return True
    return any(part in _SECRET_PARTS for part in re.split(r"[_.\-]+", last))

"""The ``members`` parameter of the named ensemble pipelines, checked in one place."""

import numbers

import numpy as np

__all__ = ["check_members"]


def check_members(members, known, *, n_seeds=1):
    """Check the members an ensemble pipeline is asked to build.

    ``ecgsk_ptbxl`` and ``ecgsk_cinc`` take ``members``, a choice among the
    members they know, and ``n_seeds``, the number of seeds of their SE
    networks; both come from users through ``compare --set`` and ``tune``.

    Parameters
    ----------
    members : sequence of str
        The names asked for.
    known : sequence of str
        The names the pipeline can build.
    n_seeds : int, default=1
        The number of seeded networks asked for.

    Returns
    -------
    tuple of str
        ``members``, as a tuple.

    Raises
    ------
    ValueError
        If ``members`` is a single string, is empty, or names a member not in
        ``known``, or if ``n_seeds`` is below 1.

    Examples
    --------
    >>> from ecgsk.ensemble import check_members
    >>> check_members(["seresnet", "features"], ("seresnet", "resnet", "features"))
    ('seresnet', 'features')
    >>> check_members("features", ("seresnet", "features"))
    Traceback (most recent call last):
    ...
    ValueError: members must be a sequence of member names such as ('features',), not ...
    """
    known = tuple(known)
    if isinstance(members, str):
        raise ValueError(f"members must be a sequence of member names such as ({members!r},), "
                         f"not the string {members!r}.")
    members = tuple(members)
    unknown = sorted(set(members) - set(known), key=str)
    if unknown or not members:
        raise ValueError(f"members must be a non-empty subset of {known}, got {members!r}.")
    if (isinstance(n_seeds, (bool, np.bool_)) or not isinstance(n_seeds, numbers.Integral)
            or n_seeds < 1):  # int("x") named nothing; int(1.5) and True passed as 1
        raise ValueError(f"n_seeds must be an integer >= 1, got {n_seeds!r}.")
    return members

"""label_columns: P(label = 1) from sklearn's per-label predict_proba lists."""

import numpy as np

from ecgsk._proba import label_columns


def test_the_column_of_value_1_is_read_by_classes():
    two = np.array([[0.8, 0.2], [0.3, 0.7]])
    only_0, only_1 = np.ones((2, 1)), np.ones((2, 1))
    swapped = two[:, ::-1]  # classes [1, 0]
    classes = [np.array([0, 1]), np.array([0]), np.array([1]), np.array([1, 0])]
    got = label_columns([two, only_0, only_1, swapped], classes)
    np.testing.assert_array_equal(got, [[0.2, 0, 1, 0.2], [0.7, 0, 1, 0.7]])


def test_without_classes_two_columns_are_0_and_1_and_one_column_is_not_1():
    got = label_columns([np.array([[0.8, 0.2]]), np.ones((1, 1)), np.array([0.4])])
    np.testing.assert_array_equal(got, [[0.2, 0.0, 0.4]])

import numpy as np

from stages.decode.fragments import median_instance_size, merge_fragments
from tests.helpers import three_squares


def test_a_stray_seed_region_joins_the_instance_it_touches():
    labels = three_squares()
    labels[5, 11] = 7  # one pixel on the rim of instance 1
    merged = merge_fragments(labels, 0.05)
    assert merged[5, 11] == 1
    np.testing.assert_array_equal(np.unique(merged), [0, 1, 2, 3])


def test_a_part_joined_only_diagonally_is_merged_too():
    labels = three_squares()
    labels[12, 12] = 9  # touches instance 1 at a corner only
    assert merge_fragments(labels, 0.05)[12, 12] == 1


def test_a_small_isolated_object_is_not_a_fragment_of_anything():
    labels = three_squares()
    labels[20:22, 20:22] = 4
    np.testing.assert_array_equal(merge_fragments(labels, 0.05), labels)


def test_the_neighbour_with_most_contact_wins_and_chains_end_in_an_instance():
    labels = three_squares()
    labels[2:12, 12:14] = 0
    labels[4, 12] = 5  # three pixels of 1 around it, one of fragment 6
    labels[4, 13] = 6  # three pixels of 2 around it, one of fragment 5
    labels[6:8, 12] = 8
    merged = merge_fragments(labels, 0.05)
    assert merged[4, 12] == 1 and merged[6, 12] == 1 and merged[7, 12] == 1
    assert merged[4, 13] == 2


def test_a_tie_goes_to_the_instance_rather_than_to_another_fragment():
    labels = three_squares()
    labels[labels == 1] = 9
    labels[12, 12] = 6  # one pixel of 9 (its corner) and one of fragment 5 around it
    labels[13, 13] = 5  # only fragment 6 around it
    merged = merge_fragments(labels, 0.05)
    assert merged[12, 12] == merged[13, 13] == 9


def test_fragments_touching_only_each_other_become_one_instance():
    labels = three_squares()
    labels[28, 14:16] = 5
    labels[28, 16] = 6
    merged = merge_fragments(labels, 0.05)
    assert merged[28, 14] == merged[28, 16] == 5  # the larger one names the group


def test_fraction_zero_and_empty_images_are_left_alone():
    labels = three_squares()
    labels[5, 11] = 7
    np.testing.assert_array_equal(merge_fragments(labels, 0), labels)
    empty = np.zeros((4, 4), np.int32)
    np.testing.assert_array_equal(merge_fragments(empty, 0.05), empty)
    assert median_instance_size(empty) == 0.0


def test_merging_works_in_3d():
    labels = np.zeros((8, 12, 12), np.int32)
    labels[1:7, 1:6, 1:11] = 1
    labels[1:7, 6:11, 1:11] = 2
    labels[3, 6, 5] = 3
    merged = merge_fragments(labels, 0.05)
    assert merged[3, 6, 5] == 2  # 17 of its 26 neighbours are in 2, 9 in 1
    assert set(np.unique(merged)) == {0, 1, 2}

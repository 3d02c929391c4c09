from rlzoo_real.cli._argv import expand_multi_value_options


def test_zoo_style_values_become_repeated_options():
    argv = ["train", "-params", "a:1", "b:2", "--env-kwargs", "x:1", "y:-2", "--seed", "3"]
    assert expand_multi_value_options(argv) == [
        "train",
        "-params",
        "a:1",
        "-params",
        "b:2",
        "--env-kwargs",
        "x:1",
        "--env-kwargs",
        "y:-2",
        "--seed",
        "3",
    ]


def test_negative_numbers_are_values_and_double_dash_stops():
    argv = ["--wandb-tags", "a", "-1", "--", "-params", "x", "y"]
    assert expand_multi_value_options(argv) == [
        "--wandb-tags",
        "a",
        "--wandb-tags",
        "-1",
        "--",
        "-params",
        "x",
        "y",
    ]


def test_single_values_are_left_alone():
    argv = ["-params", "a:1", "-params", "b:2"]
    assert expand_multi_value_options(argv) == argv

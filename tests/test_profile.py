"""The patient profile: unknown everywhere is valid; impossible combinations are explained."""

from __future__ import annotations

import json

import pytest

from trials_helper.errors import ProfileError
from trials_helper.profile import CHOICES, LABELS, Profile


def test_all_unknown_is_a_valid_profile():
    p = Profile().validate()
    assert p.triple_negative is None
    assert p.known() == {}
    assert p.subtype_label == "HR unknown, HER2 unknown"


@pytest.mark.parametrize(
    "hr,her2,tn,label",
    [
        ("negative", "zero", True, "triple-negative"),
        ("negative", "low", True, "triple-negative (HER2-low)"),
        ("positive", "low", False, "HR-positive, HER2-low"),
        ("negative", "positive", False, "HR-negative, HER2-positive"),
        ("unknown", "zero", None, "HR unknown, HER2-zero"),
    ],
)
def test_subtype(hr, her2, tn, label):
    p = Profile(hr=hr, her2=her2)
    assert p.triple_negative is tn
    assert p.subtype_label == label


def test_from_dict_accepts_loose_input():
    p = Profile.from_dict(
        {
            "hr": "+",
            "her2": "HER2-low",
            "brca": True,
            "chemo_lines": 3,
            "brain": "treated",
            "menopause": "Postmenopausal",
            "age": "61",
            "pdl1": None,
        }
    )
    assert (p.hr, p.her2, p.brca, p.chemo_lines, p.brain, p.menopause, p.age, p.pdl1) == (
        "positive",
        "low",
        "yes",
        "2+",
        "stable",
        "post",
        61,
        "unknown",
    )
    assert p.chemo_count() == 2


@pytest.mark.parametrize(
    "data,words",
    [
        ({"her2": "maybe"}, "HER2 status: 'maybe' is not one of positive, low, zero, unknown"),
        ({"age": 12}, "Age: 12 must be a whole number from 18 to 120"),
        ({"age": "sixty"}, "Age: 'sixty' is not a number"),
        ({"age": "inf"}, "Age: 'inf' is not a number of years"),  # found by hypothesis
        ({"age": "nan"}, "Age: 'nan' is not a number of years"),
        ({"sex": "male", "menopause": "post"}, "Menopausal status applies to women"),
        ({"prior_tdxd": "yes", "prior_her2": "no"}, "Trastuzumab deruxtecan is an anti-HER2"),
        ({"colour": "blue"}, "Unknown profile field(s): colour"),
    ],
)
def test_impossible_or_bad_values_are_explained(data, words):
    with pytest.raises(ProfileError) as err:
        Profile.from_dict(data)
    assert words in str(err.value)


def test_warnings_for_unusual_but_possible():
    p = Profile(prior_cdk46="yes", prior_endocrine="no")
    assert any("usually given together with hormone therapy" in w for w in p.warnings())
    assert Profile().warnings() == []


def test_load_toml_and_json(tmp_path):
    toml = tmp_path / "p.toml"
    toml.write_text('[profile]\nhr = "positive"\nher2 = "zero"\nprior_cdk46 = "yes"\n')
    assert Profile.load(toml) == Profile(hr="positive", her2="zero", prior_cdk46="yes")
    js = tmp_path / "p.json"
    js.write_text(json.dumps({"brain": "active", "age": 50}))
    assert Profile.load(js) == Profile(brain="active", age=50)
    bad = tmp_path / "bad.toml"
    bad.write_text("hr = ")
    with pytest.raises(ProfileError, match="could not be read"):
        Profile.load(bad)
    with pytest.raises(ProfileError, match="does not exist"):
        Profile.load(tmp_path / "none.toml")


def test_every_field_has_a_label():
    assert set(CHOICES) <= set(LABELS)


def test_a_profile_file_with_many_unknown_keys_gives_a_short_message(tmp_path):
    """Issue #16.14: 50,000 unknown keys gave a 539 KB message."""
    import json

    from trials_helper.errors import ProfileError
    from trials_helper.profile import Profile

    path = tmp_path / "p.json"
    path.write_text(json.dumps({f"key{n:05d}" + "x" * 50: n for n in range(50_000)}))
    with pytest.raises(ProfileError) as err:
        Profile.load(path)
    message = str(err.value)
    assert len(message) < 1000
    assert "and 49,995 more" in message and "Known fields:" in message


@pytest.mark.parametrize("value", ["true", "false"])
def test_age_true_is_not_a_number_of_years(tmp_path, value):
    from trials_helper.errors import ProfileError
    from trials_helper.profile import Profile

    path = tmp_path / "p.toml"
    path.write_text(f"age = {value}\n")
    with pytest.raises(ProfileError, match="is not a number of years"):
        Profile.load(path)  # `age = true` read as 1 (then refused as an age of 1)

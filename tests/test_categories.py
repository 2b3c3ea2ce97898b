"""Treatment categories of drugs the dictionary does not know, read from the record's own words.

Each class-phrase family of data/concepts.toml [context] has a real example (wording of a recorded
study in ../shared/ctgov/studies) and a real counter-example: a class named near the drug that is
not what the drug is (a partner, a comparator, earlier treatment, a payload, a tracer).

The recorded drugs are in the dictionary, so the tests copy a real record and change one thing,
as ../shared/ctgov/README.md asks: the drug's names become UNSEEN, a code no dictionary knows.
Every other word of the record is left as it was recorded.
"""

from __future__ import annotations

import json
import re

import pytest

from tests.conftest import STUDIES_DIR, load_study
from trials_helper.facets import categorise, classify
from trials_helper.studies import parse_study

UNSEEN = "ZX-9071"


def renamed(nct_id: str, *names: str) -> dict:
    """The real record with every mention of `names` (any case) changed to UNSEEN."""
    pattern = re.compile("|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)), re.I)
    return json.loads(pattern.sub(UNSEEN, json.dumps(load_study(nct_id))))


def unseen(study: dict) -> tuple[set[str], str]:
    """Categories and reason the classifier gives the renamed drug."""
    rows = [(c, why) for n, c, why in classify(study).intervention_categories if n == UNSEEN]
    assert rows, "the renamed drug is not an intervention of the record"
    return {c for c, _ in rows}, rows[0][1]


def summary(nct_id: str) -> str:
    return parse_study(load_study(nct_id)).brief_summary


# ------------------------------------------------------------------------- antibody-drug conjugate


def test_adc_from_an_appositive_in_the_title():
    # NCT05950945: "Trastuzumab Deruxtecan (T-DXd), an Anti-HER2-Antibody Drug Conjugate (ADC), in"
    cats, why = unseen(renamed("NCT05950945", "Trastuzumab Deruxtecan", "T-DXd"))
    assert cats == {"adc", "her2_directed"}  # the antibody does not make it other_targeted
    assert why.startswith("described as") and "Antibody Drug Conjugate" in why


def test_adc_from_a_type_of_phrase_and_from_an_antibody_linked_to_a_drug():
    # NCT06176261: "Datopotamab deruxtecan (a type of antibody-drug conjugate)"
    assert unseen(renamed("NCT06176261", "Datopotamab deruxtecan"))[0] == {"adc"}
    # NCT03971409: "is a monoclonal antibody called sacituzumab linked to a chemotherapy drug"
    assert unseen(renamed("NCT03971409", "Sacituzumab Govitecan"))[0] == {"adc"}


def test_adc_payload_in_its_own_description_is_not_chemotherapy():
    # NCT06331169 description: "... is an antibody-drug conjugate composed of an anti-HER2 (...)
    # antibody, a cleavable tetrapeptide-based linker, and a cytotoxic topoisomerase I inhibitor."
    cats, _ = unseen(renamed("NCT06331169", "Trastuzumab deruxtecan", "DS-8201"))
    assert cats == {"adc", "her2_directed"}


def test_adc_partner_named_beside_a_drug_is_not_its_class():
    # NCT04704661: "ceralasertib (AZD6738) when given in combination with trastuzumab deruxtecan"
    cats, _ = unseen(renamed("NCT04704661", "Ceralasertib", "AZD6738"))
    assert not cats & {"adc", "her2_directed"}


# ----------------------------------------------------------------------------------- HER2-directed


def test_her2_directed_from_a_bracketed_class():
    # NCT06439693 summary: "* Tucatinib (Tyrosine Kinase HER2 Inhibitor)"
    assert unseen(renamed("NCT06439693", "Tucatinib"))[0] == {"her2_directed"}


def test_her2_of_the_patients_is_not_a_her2_directed_drug():
    # NCT06257264: "BG-68501 ... in adults with hormone receptor positive (HR+)/human epidermal
    # growth factor receptor 2 negative (HER2-) breast cancer (BC)"
    cats, _ = unseen(renamed("NCT06257264", "BG-68501"))
    assert "her2_directed" not in cats


# --------------------------------------------------------------------------------------- endocrine


def test_endocrine_from_the_opening_words_of_its_description():
    # NCT04852887: "Endocrine therapy for a minimum of 5 years. The specific regimen ..."
    trial = parse_study(load_study("NCT04852887"))
    desc = next(iv.description for iv in trial.interventions if iv.type == "DRUG")
    cats, why = categorise(UNSEEN, (), "DRUG", desc)
    assert cats == ("endocrine",) and why == "described as 'Endocrine therapy'"


def test_endocrine_serd_wording_beside_a_code():
    # the brief's wording of an oral SERD, set where NCT06257264 describes its drugs
    text = summary("NCT06257264").replace(
        "BGB-43395, a selective CDK4 inhibitor",
        f"{UNSEEN}, an oral selective estrogen receptor degrader (SERD)",
    )
    assert categorise(UNSEEN, (), "DRUG", "", [text])[0] == ("endocrine",)


def test_comparators_and_earlier_lines_are_not_the_new_drugs_class():
    # NCT06016738: "palazestrant (OP-1250) to the standard-of-care options of fulvestrant or an
    # aromatase inhibitor in ... whose disease has advanced on one endocrine therapy in
    # combination with a CDK4/6 inhibitor."
    cats, _ = unseen(renamed("NCT06016738", "Palazestrant", "OP-1250"))
    assert not cats & {"endocrine", "cdk46"}
    # NCT02513394 arm A: "Palbociclib ... in addition to standard adjuvant endocrine therapy"
    cats, _ = unseen(renamed("NCT02513394", "Palbociclib"))
    assert "endocrine" not in cats


# ------------------------------------------------------------------------------------------ CDK4/6


def test_cdk46_from_a_comma_appositive_in_the_summary():
    # NCT06257264: "with or without BGB-43395, a selective CDK4 inhibitor, in adults"
    cats, why = unseen(renamed("NCT06257264", "BGB-43395"))
    assert cats == {"cdk46"} and "selective CDK4 inhibitor" in why


@pytest.mark.parametrize(
    ("nct_id", "names"),
    [
        # "Inavolisib Plus a CDK4/6 Inhibitor and Letrozole Versus Placebo Plus a CDK4/6 Inhibitor"
        ("NCT06790693", ("Inavolisib",)),
        # "PF-07220060 PLUS LETROZOLE COMPARED TO CDK4/6 INHIBITOR PLUS LETROZOLE"
        ("NCT06760637", ("PF-07220060",)),
    ],
)
def test_cdk46_partner_or_comparator_is_not_the_drugs_class(nct_id, names):
    assert "cdk46" not in unseen(renamed(nct_id, *names))[0]


# ------------------------------------------------------------------------------- PI3K / AKT / mTOR


def test_pi3k_from_an_appositive():
    # the brief's "a PI3Kα inhibitor", set where NCT06257264 describes BGB-43395
    text = summary("NCT06257264").replace(
        "BGB-43395, a selective CDK4 inhibitor", f"{UNSEEN}, a PI3Kα inhibitor"
    )
    assert categorise(UNSEEN, (), "DRUG", "", [text])[0] == ("pi3k_akt_mtor",)


def test_pi3k_partner_in_the_title_is_not_the_drugs_class():
    # NCT05455619: "Evexomostat (SDX-7320) in Combination With A PI3K or Akt Inhibitor Plus
    # Fulvestrant in Patients ... With PI3K Pathway Alteration(s)"
    cats, _ = unseen(renamed("NCT05455619", "Evexomostat", "SDX-7320"))
    assert cats == {"other_targeted"}


# -------------------------------------------------------------------------------------------- PARP


def test_parp_from_an_appositive():
    # the brief's "a PARP1-selective inhibitor", set where NCT06257264 describes BGB-43395
    text = summary("NCT06257264").replace(
        "BGB-43395, a selective CDK4 inhibitor", f"{UNSEEN}, a PARP1-selective inhibitor"
    )
    assert categorise(UNSEEN, (), "DRUG", "", [text])[0] == ("parp",)


def test_parp_named_only_in_the_criteria_adds_nothing():
    # NCT06393374 exclusion: "... poly (adenosine diphosphate ribose) polymerase (PARP) inhibitors,
    # ADCs, and/or immunotherapy"; the title only says "MK-2870 ... Plus Pembrolizumab"
    cats, _ = unseen(renamed("NCT06393374", "Sacituzumab tirumotecan", "MK-2870"))
    assert not cats & {"parp", "adc", "immunotherapy"}


# ----------------------------------------------------------------------------------- immunotherapy


def test_immunotherapy_from_a_description_that_is_a_class():
    # NCT05544929: KFA115 "Immunomodulatory agent"; pembrolizumab "Anti-PD-1 antibody"
    cats, why = unseen(renamed("NCT05544929", "KFA115"))
    assert cats == {"immunotherapy"} and why == "described as 'Immunomodulatory agent'"
    cats, why = unseen(renamed("NCT05544929", "pembrolizumab", "Keytruda"))
    assert cats == {"immunotherapy"} and why == "described as 'Anti-PD-1 antibody'"


def test_immunotherapy_of_another_drug_is_not_the_drugs_class():
    # NCT03971409: "Immunotherapy with checkpoint inhibitors like avelumab ..."; binimetinib renamed
    assert "immunotherapy" not in unseen(renamed("NCT03971409", "Binimetinib"))[0]


# ------------------------------------------------------------------------------------ chemotherapy


def test_chemotherapy_from_type_of_and_is_a_phrases():
    # NCT06439693: "* Docetaxel (a type of anti-microtubule agent)"
    assert unseen(renamed("NCT06439693", "Docetaxel"))[0] == {"chemotherapy"}
    # NCT05929768: "Doxorubicin is an anthracycline chemotherapy drug that damages DNA"
    assert unseen(renamed("NCT05929768", "Doxorubicin"))[0] == {"chemotherapy"}


def test_a_conjugates_chemotherapy_payload_is_not_chemotherapy():
    # NCT04704661: "Trastuzumab deruxtecan is a monoclonal antibody, called trastuzumab, linked to
    # a chemotherapy drug, called deruxtecan."
    cats, _ = unseen(renamed("NCT04704661", "Trastuzumab Deruxtecan", "DS-8201a"))
    assert "adc" in cats and "chemotherapy" not in cats


# ---------------------------------------------------------------------------------- other targeted


def test_other_targeted_from_title_and_description():
    # NCT06257264: "BG-68501, a Selective CDK2 Inhibitor, in Participants" (CDK2 is not CDK4/6)
    cats, why = unseen(renamed("NCT06257264", "BG-68501"))
    assert cats == {"other_targeted"} and why.startswith("described as 'Selective CDK2 Inhibitor'")
    # NCT06331169: "Anlotinib is a new, orally administered tyrosine kinase inhibitor that targets"
    cats, why = unseen(renamed("NCT06331169", "Anlotinib"))
    assert cats == {"other_targeted"} and "tyrosine kinase inhibitor" in why
    # the brief's "a KAT6 inhibitor", in the same place
    text = summary("NCT06257264").replace("BG-68501, a", f"{UNSEEN}, a KAT6 inhibitor, a")
    assert categorise(UNSEEN, (), "OTHER", "", [text])[0] == ("other_targeted",)


def test_a_cdk2_drug_beside_a_cdk4_drug_keeps_its_own_class():
    # NCT06257264: "BG-68501, a cyclin-dependent kinase-2 inhibitor (CDK2i) ... with or without
    # BGB-43395, a selective CDK4 inhibitor"
    assert "other_targeted" not in unseen(renamed("NCT06257264", "BGB-43395"))[0]


# ----------------------------------------------------------------------------- radiation / imaging


def test_radiation_from_a_radioisotope_appositive():
    # NCT06860815: "Y90 SIR-S Spheres is an injectable form of the radioisotope yttrium Y 90
    # encapsulated in resin microspheres." (the listed "Yttrium Y 90 Resin Microspheres" and the
    # summary's "Y90 SIR-S Spheres" are one product; both names become UNSEEN)
    study = renamed("NCT06860815", "Yttrium Y 90 Resin Microspheres", "Y90 SIR-S Spheres")
    assert unseen(study)[0] == {"radiation"}


def test_radioligands_are_radiation_whatever_they_target():
    assert categorise("225Ac-FPI-2068")[0] == ("radiation",)
    assert categorise("177Lu-PSMA-617", (), "DRUG")[0] == ("radiation",)  # PSMA is its target


def test_imaging_is_other_and_a_radiolabelled_tracer_is_not_radiation():
    text = summary("NCT06260033")
    # NCT06260033: "The PET scan, an established imaging technique that utilizes small amounts of
    # radioactivity attached to very minimal amounts of tracer"
    cats, _ = categorise(UNSEEN, (), "", "", [text.replace("PET scan", UNSEEN)])
    assert cats == ("other",)
    # NCT06260033: "FES, a radiolabeled substance, binds to estrogen receptors and gives off
    # radiation that can be detected by a PET scan."
    cats, _ = categorise(UNSEEN, (), "", "", [text.replace("FES", UNSEEN)])
    assert "radiation" not in cats and "endocrine" not in cats


# ----------------------------------------------------------------------------------- keeps working


def test_treatment_of_physicians_choice_stays_chemotherapy():
    f = classify(load_study("NCT06099769"))  # "TPC" beside enzalutamide and mifepristone
    assert {c for n, c, _ in f.intervention_categories if n == "TPC"} == {"chemotherapy"}


def test_known_names_still_win_over_context():
    # NCT03587740: "T-DM1 is an antibody-drug conjugate" - the dictionary adds her2_directed
    f = classify(load_study("NCT03587740"))
    assert set(f.categories.value) == {"adc", "her2_directed"}


@pytest.mark.parametrize("path", sorted(STUDIES_DIR.glob("*.json")), ids=lambda p: p.stem)
def test_no_record_ties_a_wrong_class_to_an_unseen_drug(path):
    """Every drug of every recorded study renamed in turn: what its record's words say it is must
    be a class the dictionary gives its real name (the words may say less, never something else)."""
    study = json.loads(path.read_text(encoding="utf-8"))
    known = classify(study).intervention_categories
    for iv in parse_study(study).interventions:
        names = [n for n in (iv.name, *iv.other_names) if len(n) >= 3]
        if not names or UNSEEN in iv.name:
            continue
        truth = {c for n, c, _ in known if n == iv.name}
        rows = classify(renamed(path.stem, *names)).intervention_categories
        described = {c for n, c, why in rows if n == UNSEEN and why.startswith("described as")}
        assert described <= truth, (iv.name, described)

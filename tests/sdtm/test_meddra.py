"""The MedDRA coding of the AE form: the twin's dictionary (sap/specs/meddra.yaml), the twin's coded AE form,
SDTM AE and ADAE carrying the codes. Expected codes are the published MedDRA codes of the SOCs and PTs
(stated in the dictionary's header) or the dictionary's own synthetic ones, never read back from AE."""

import pandas as pd
import pytest
from pydantic import ValidationError

from sap.specs import SPECS_DIR, Meddra, load_meddra, meddra_coding, read_yaml
from sap.errors import SpecError
from sdtm.twin import INJECTION_SITE_AE, OTHER_AES, PRE_DOSE_AE

# Published MedDRA codes (System Organ Classes and a few preferred terms of the twin)
PUBLISHED = {"Infections and infestations": 10021881, "General disorders and administration site conditions": 10018065,
             "Nervous system disorders": 10029205, "Gastrointestinal disorders": 10017947,
             "Headache": 10019211, "Pyrexia": 10037660, "Nasopharyngitis": 10028810, "Fatigue": 10016256}


def test_dictionary_version_is_the_version_of_the_ae_coding(study):
    assert load_meddra()["version"] == study.safety.meddra_version == study.trial_summary.standards.meddra


def test_dictionary_codes_published_or_marked_synthetic():
    meddra = load_meddra()
    prefix = meddra["synthetic_prefix"]
    assert prefix == "99"
    codes = {(level, t["name"]): t["code"] for level in ("soc", "hlgt", "hlt", "pt", "llt") for t in meddra[level]}
    for (level, name), code in codes.items():
        assert len(str(code)) == 8, name
        if level in ("soc", "pt"):
            assert str(code).startswith("100"), name  # the decision: SOC and PT codes are the published ones
        elif level in ("hlgt", "hlt"):
            assert str(code).startswith(prefix), name  # synthetic, outside MedDRA's 100xxxxx range
    for name, code in PUBLISHED.items():
        assert code in {c for (_, n), c in codes.items() if n == name}, name
    # an LLT is synthetic exactly when it is not its PT; otherwise it has the PT's code
    for llt in meddra["llt"]:
        assert str(llt["code"]).startswith(prefix) == (llt["name"] != llt["pt"]), llt["name"]
    # a code names one term of one level (synthetic codes never reused)
    by_code = {}
    for (level, name), code in codes.items():
        by_code.setdefault(code, set()).add(name)
    assert all(len(names) == 1 for names in by_code.values())


def test_dictionary_with_a_dangling_parent_is_refused():
    data = read_yaml(SPECS_DIR / "meddra.yaml")
    data["llt"][0]["pt"] = "Injection site rash"
    with pytest.raises(ValidationError, match="pt 'Injection site rash' is not a pt of the file"):
        Meddra.model_validate(data)


def test_unknown_lowest_level_term_is_an_error_naming_it():
    with pytest.raises(SpecError, match="lowest level term not in the dictionary.*Sore throat"):
        meddra_coding(pd.Series(["Fever", "Sore throat"]))


def test_twin_ae_form_is_coded_from_the_dictionary(twin_run):
    raw = pd.read_csv(twin_run / "raw" / "adverse_events.csv", dtype=str)
    used = {INJECTION_SITE_AE[1], PRE_DOSE_AE[1], *(entry[1] for entry in OTHER_AES)}
    meddra = load_meddra()
    llt = {t["name"]: t for t in meddra["llt"]}
    pt = {t["name"]: t for t in meddra["pt"]}
    hlt = {t["name"]: t for t in meddra["hlt"]}
    hlgt = {t["name"]: t for t in meddra["hlgt"]}
    soc = {t["name"]: t for t in meddra["soc"]}
    assert used <= set(llt) and set(raw["AE_LLT"]) <= used
    for row in raw.itertuples():
        p = pt[llt[row.AE_LLT]["pt"]]
        h = hlt[p["hlt"]]
        g = hlgt[h["hlgt"]]
        expected = (llt[row.AE_LLT]["code"], p["name"], p["code"], h["name"], h["code"], g["name"], g["code"], g["soc"],
                    soc[g["soc"]]["code"])
        got = (int(row.AE_LLT_CODE), row.AE_PT, int(row.AE_PT_CODE), row.AE_HLT, int(row.AE_HLT_CODE), row.AE_HLGT,
               int(row.AE_HLGT_CODE), row.AE_SOC, int(row.AE_SOC_CODE))
        assert got == expected
    # the injection-site reactions: PT 10022095 in SOC 10018065 (published codes)
    isr = raw[raw["AE_PT"].eq("Injection site reaction")]
    assert len(isr) > 0 and set(isr["AE_PT_CODE"]) == {"10022095"} and set(isr["AE_SOC_CODE"]) == {"10018065"}


def test_sdtm_ae_and_adae_carry_the_codes_of_the_form(twin_run, twin_sdtm, twin_adam):
    raw = pd.read_csv(twin_run / "raw" / "adverse_events.csv", dtype=str)
    ae = twin_sdtm["AE"]
    assert len(ae) == len(raw)  # no twin AE after the cut-off
    by_key = raw.assign(USUBJID="IL2SLE01-01-" + raw["SUBJECT"], AESPID=raw["AE_NO"]).set_index(["USUBJID", "AESPID"])
    mapped = {"AELLTCD": "AE_LLT_CODE", "AEPTCD": "AE_PT_CODE", "AEHLTCD": "AE_HLT_CODE", "AEHLGTCD": "AE_HLGT_CODE",
              "AEBDSYCD": "AE_SOC_CODE", "AESOCCD": "AE_SOC_CODE"}
    for row in ae.itertuples():
        source = by_key.loc[(row.USUBJID, row.AESPID)]
        for target, column in mapped.items():
            assert getattr(row, target) == int(source[column]), (row.USUBJID, target)
        assert row.AEHLGT == source["AE_HLGT"]
    adae = twin_adam["ADAE"].merge(ae, on=["USUBJID", "AESEQ"], suffixes=("", "_AE"))
    assert len(adae) == len(twin_adam["ADAE"])
    for name in [*mapped, "AEHLGT"]:
        assert adae[name].equals(adae[f"{name}_AE"]), name

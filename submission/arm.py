"""Analysis Results Metadata (ARM 1.0, the `arm:` extension of Define-XML 2.1) of the ADaM define.xml, built
from the ARS ReportingEvent of the render stage (`output/tlf/ard/ars.json`, `tlf.ars`) so that ARM and ARS
are two views of one source, plus `sap/specs/arm.yaml` (SAP reference, reason and purpose of each display;
the records a non-variable ARS grouping stands for).

ARM 1.0 structure (arm1-0-0.xsd): AnalysisResultDisplays / ResultDisplay (one per output, its title) /
AnalysisResult (one per ARS analysis: ParameterOID = the PARAMCD ItemDef when the analysis selects a
parameter, AnalysisReason, AnalysisPurpose) with AnalysisDatasets / AnalysisDataset (ItemGroupOID, a
WhereClauseRef to the WhereClauseDef of its records, AnalysisVariable ItemOIDs), Documentation (the method
and the SAP sections) and ProgrammingCode (context and the builder program shipped in `programs/`).

A condition on a variable the ADaM datasets do not have, an output of the ReportingEvent without a display
entry in `arm.yaml`, a grouping value `arm.yaml` does not define: each a SpecError naming it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from odmlib.arm_1_0 import model as ARM
from odmlib.define_2_1 import model as DEF

from sap.errors import Problem, SapError, SpecError
from sap.specs import SPECS_DIR, load_arm
from submission.datasetjson import group_oid, item_oid

ARM_FILE = SPECS_DIR / "arm.yaml"
ARS_FILE = Path("tlf") / "ard" / "ars.json"
PARAMETER = "PARAMCD"
# leaf of the programs: the define sits in analysis/adam/datasets/, the programs in analysis/adam/programs/
PROGRAMS_HREF = "../programs"


def _text(value: str) -> ARM.Description:
    return ARM.Description(TranslatedText=[ARM.TranslatedText(_content=value, lang="en")])


def read_reporting_event(out: Path) -> dict:
    """The ARS ReportingEvent of a run (`OUT/tlf/ard/ars.json`); missing: one line saying to render first."""
    path = out / ARS_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SapError(Problem(str(path), "not found: run `sap render` first (the ARM of define.xml is built from it)")) from None


@dataclass
class AnalysisResults:
    """What the ADaM define.xml gains from ARM: the displays, their WhereClauseDefs and the program leaves."""

    displays: ARM.AnalysisResultDisplays
    where_clauses: list = field(default_factory=list)
    leaves: dict[str, str] = field(default_factory=dict)  # leaf id -> href


def _conditions(analysis: dict, event: dict, groupings: dict, where: str) -> list[dict]:
    """Every condition (dataset, variable, comparator, value) selecting the analysis's records: its
    analysis set, then each result group's condition (a non-variable grouping via arm.yaml)."""
    sets = {s["id"]: s for s in event["analysisSets"]}
    groups = {(g["id"], grp["id"]): (g, grp) for g in event["analysisGroupings"] for grp in g["groups"]}
    conditions = [dict(sets[analysis["analysisSetId"]]["condition"])]
    for rg in analysis["results"][0]["resultGroups"] if analysis["results"] else []:
        grouping, group = groups[(rg["groupingId"], rg["groupId"])]
        name = grouping["groupingVariable"]
        if name in groupings:
            if group["name"] not in groupings[name]:
                raise SpecError(Problem(str(ARM_FILE), f"grouping {name} value not defined (needed by {where})",
                                        variable=f"groupings.{name}", value=group["name"]))
            conditions += [dict(c) for c in groupings[name][group["name"]]]
        else:
            conditions.append(dict(group["condition"]))
    return conditions


def build_analysis_results(event: dict, variables: dict[str, set[str]], programs: dict[str, str],
                           primary_visit: str) -> AnalysisResults:
    """ARM of the ReportingEvent `event`. `variables`: the ADaM datasets of the define and their variables
    (every condition and analysis variable must be one of them); `programs`: output number -> builder
    (sap/outputs.yaml, e.g. "tlf.efficacy:sri_primary_table"), whose module file is shipped in programs/;
    `primary_visit`: the plan's primary visit (AVISIT), for the display conditions of arm.yaml."""
    spec = load_arm()
    problems: list[Problem] = []
    where_clauses: dict[str, DEF.WhereClauseDef] = {}
    leaves: dict[str, str] = {}
    methods = {m["id"]: m for m in event["methods"]}
    analyses_of: dict[str, list[dict]] = {}
    for analysis in event["analyses"]:
        analyses_of.setdefault(analysis["outputId"], []).append(analysis)

    def known(dataset: str, variable: str, where: str) -> bool:
        if variable in variables.get(dataset, set()):
            return True
        problems.append(Problem(str(ARM_FILE), f"{where}: variable not in the ADaM datasets of define.xml", variable=f"{dataset}.{variable}"))
        return False

    displays = []
    for output in event["outputs"]:
        display = output["displays"][0]["display"]
        number = display["name"].split()[-1]
        if number not in spec["displays"]:
            problems.append(Problem(str(ARM_FILE), "output of the ARS ReportingEvent without a display entry", variable="displays", value=number))
            continue
        meta = spec["displays"][number]
        module, function = programs[number].split(":")
        program = module.replace(".", "/") + ".py"
        leaf_id = f"LF.PGM.{program.replace('/', '.').removesuffix('.py')}"
        leaves[leaf_id] = f"{PROGRAMS_HREF}/{program}"
        results = []
        seen: set = set()
        for analysis in analyses_of.get(output["id"], []):
            where = f"analysis {analysis['id']}"
            conditions = _conditions(analysis, event, spec["groupings"], where)
            conditions += [{**c, "value": c["value"].replace("{primary_visit}", primary_visit)} for c in meta.get("conditions", [])]
            dataset = analysis["dataset"]
            # ARS has one analysis per ARD cell group (responders Y and N apart); ARM one result per selection
            key = (dataset, analysis["variable"], json.dumps(conditions, sort_keys=True))
            if key in seen:
                continue
            seen.add(key)
            oid_stem = f"{number}.{len(results) + 1:02d}"
            by_dataset: dict[str, list[dict]] = {dataset: []}
            for c in conditions:
                # the analysis set flag is carried by the analysis dataset (ADaM predecessor of ADSL): select there
                target = dataset if c["variable"] in variables.get(dataset, set()) else c["dataset"]
                by_dataset.setdefault(target, []).append(c)
            analysis_datasets = []
            for name, conds in by_dataset.items():
                if name not in variables:
                    problems.append(Problem(str(ARM_FILE), f"{where}: dataset not in define.xml", variable=name))
                    continue
                checks = []
                for c in conds:
                    if known(name, c["variable"], where):
                        values = c["value"] if isinstance(c["value"], list) else [c["value"]]
                        checks.append(DEF.RangeCheck(Comparator=c["comparator"], SoftHard="Soft", ItemOID=item_oid(name, c["variable"]),
                                                     CheckValue=[DEF.CheckValue(_content=str(v)) for v in values]))
                entry = ARM.AnalysisDataset(ItemGroupOID=group_oid(name))
                if checks:
                    oid = f"WC.AR.{oid_stem}.{name}"
                    where_clauses[oid] = DEF.WhereClauseDef(OID=oid, RangeCheck=checks)
                    entry.WhereClauseRef = ARM.WhereClauseRef(WhereClauseOID=oid)
                if name == dataset and known(name, analysis["variable"], where):
                    entry.AnalysisVariable = [ARM.AnalysisVariable(ItemOID=item_oid(name, analysis["variable"]))]
                analysis_datasets.append(entry)
            method = methods[analysis["methodId"]]
            selection = ", ".join(f"{c['dataset']}.{c['variable']} {c['comparator']} "
                                  f"{' '.join(c['value']) if isinstance(c['value'], list) else c['value']}" for c in conditions)
            result = ARM.AnalysisResult(
                OID=f"AR.{oid_stem}", AnalysisReason=meta["reason"], AnalysisPurpose=meta["purpose"],
                Description=_text(f"{display['name']}: {analysis['variable']} where {selection}"),
                AnalysisDatasets=ARM.AnalysisDatasets(AnalysisDataset=analysis_datasets),
                Documentation=ARM.Documentation(Description=_text(f"{method['name']}: {method['description']}. {meta['documentation']}"),
                                                DocumentRef=[ARM.DocumentRef(leafID="LF.adrg")]),
                ProgrammingCode=ARM.ProgrammingCode(Context=spec["programming_context"],
                                                    Code=ARM.Code(_content=f"{module}.{function}(adam, spec, study)  # {program}, run by `sap render`"),
                                                    DocumentRef=[ARM.DocumentRef(leafID=leaf_id)]))
            if any(c["variable"] == PARAMETER for c in conditions) and known(dataset, PARAMETER, where):
                result.ParameterOID = item_oid(dataset, PARAMETER)
            results.append(result)
        if not results:
            problems.append(Problem(str(ARS_FILE), "output without analyses", variable=number))
            continue
        displays.append(ARM.ResultDisplay(OID=f"RD.{number}", Name=display["name"], Description=_text(display["displayTitle"]),
                                          AnalysisResult=results))
    if problems:
        raise SpecError(list(dict.fromkeys(problems)))
    return AnalysisResults(ARM.AnalysisResultDisplays(ResultDisplay=displays), list(where_clauses.values()), leaves)

"""CDISC Analysis Results Standard (ARS 1.0) JSON for the primary and key secondary analyses (Tables
14.2.1, 14.2.2 and 14.2.8): a ReportingEvent whose analyses carry every result of the output's ARD (raw value
and formatted value), traceable to the ADaM dataset, variable, analysis set and grouping values used.

The object follows the ARS 1.0 logical model's JSON names: ReportingEvent (id, name, version,
mainListOfContents, analysisSets, analysisGroupings, methods with operations, analyses with results and
resultGroups, outputs with displays). `check_ars` is the structural validation (every reference resolves;
every result has an operation of its method).
"""

from __future__ import annotations

import pandas as pd

from sap.study import Study
from tlf.output import Output

ARS_OUTPUTS = ["14.2.1", "14.2.2", "14.2.8"]
# operations of the responder-rate method, in ARD statistic names (tlf.ard)
OPERATIONS = {"n": ("Count of responders", "XX"), "N": ("Denominator (analysis set N)", "XX"),
              "pct": ("Percentage of responders", "XX.X"), "lcl": ("Clopper-Pearson lower 95% limit, %", "XX.X"),
              "ucl": ("Clopper-Pearson upper 95% limit, %", "XX.X"),
              "p_binomial": ("Exact binomial test p-value vs the historical rate, two-sided", "X.XXX")}
ANALYSIS_SET = {"FASFL": ("AS_FAS", "Full analysis set")}


def _oid(text: str) -> str:
    return text.replace(".", "-").replace(" ", "_")


def reporting_event(outputs: list[Output], study: Study) -> dict:
    """The ARS ReportingEvent for `outputs` (each with an ARD: see tlf.ard)."""
    groupings: dict[str, dict] = {}
    analyses, listed, displays = [], [], []
    for order, out in enumerate(outputs, start=1):
        ard = out.analysis_results()
        output_id = f"Out{_oid(out.number)}"
        listed.append({"name": out.label, "level": 1, "order": order, "outputId": output_id})
        displays.append({"id": output_id, "name": out.label, "version": 1,
                         "displays": [{"order": 1, "display": {"id": f"D{_oid(out.number)}", "name": out.label,
                                                               "displayTitle": out.title}}]})
        for key, part in ard.groupby(["GROUP1", "GROUP1_LEVEL", "GROUP2", "GROUP2_LEVEL", "VARIABLE", "VARIABLE_LEVEL"],
                                     sort=False):
            g1, l1, g2, l2, variable, level = key
            result_groups = []
            for grouping, value in ((g1, l1), (g2, l2)):
                if not grouping:
                    continue
                entry = groupings.setdefault(grouping, {"id": f"AG_{grouping}", "name": grouping,
                                                        "groupingDataset": "ADRS", "groupingVariable": grouping,
                                                        "dataDriven": False, "groups": {}})
                entry["groups"].setdefault(value, {"id": f"AG_{grouping}_{_oid(value)}", "name": value,
                                                   "condition": {"dataset": "ADRS", "variable": grouping,
                                                                 "comparator": "EQ", "value": [value]}})
                result_groups.append({"groupingId": entry["id"], "groupId": entry["groups"][value]["id"]})
            analysis_id = f"AN_{_oid(out.number)}_{len(analyses) + 1:03d}"
            results = [{"operationId": f"MTH_RESPONSE_OP_{stat}", "resultGroups": result_groups,
                        "rawValue": exact, "formattedValue": text}
                       for stat, exact, text in zip(part["STAT"], part["VALUE_EXACT"], part["FORMATTED"])]
            set_id, _ = ANALYSIS_SET["FASFL"]
            analyses.append({"id": analysis_id, "name": f"{out.label}: {' '.join(v for v in key if v)}", "version": 1,
                             "reason": "SPECIFIED IN SAP", "purpose": "PRIMARY OUTCOME MEASURE" if out.number == "14.2.1"
                             else "SECONDARY OUTCOME MEASURE", "analysisSetId": set_id, "dataset": "ADRS",
                             "variable": variable, "methodId": "MTH_RESPONSE", "outputId": output_id,
                             "orderedGroupings": [{"order": i + 1, "groupingId": rg["groupingId"], "resultsByGroup": True}
                                                  for i, rg in enumerate(result_groups)],
                             "results": results})
    set_id, set_name = ANALYSIS_SET["FASFL"]
    return {
        "id": f"RE_{study.study.studyid}", "name": f"{study.study.studyid} primary and key secondary analyses",
        "version": 1,
        "mainListOfContents": {"name": "Primary and key secondary analyses", "contentsList": {"listItems": listed}},
        "analysisSets": [{"id": set_id, "name": set_name, "level": 1, "order": 1,
                          "condition": {"dataset": "ADSL", "variable": "FASFL", "comparator": "EQ", "value": ["Y"]}}],
        "analysisGroupings": [{**g, "groups": [{**grp, "order": i + 1} for i, grp in enumerate(g["groups"].values())]}
                              for g in groupings.values()],
        "methods": [{"id": "MTH_RESPONSE", "name": "Responder rate, Clopper-Pearson exact CI, exact binomial test",
                     "description": "Responders / N with non-responder imputation; Clopper-Pearson exact 95% CI; exact "
                                    "two-sided binomial test against the historical response rate (SAP 6.3, 8.1)",
                     "operations": [{"id": f"MTH_RESPONSE_OP_{stat}", "name": name, "order": i + 1, "resultPattern": pattern}
                                    for i, (stat, (name, pattern)) in enumerate(OPERATIONS.items())]}],
        "analyses": analyses,
        "outputs": displays,
    }


def check_ars(event: dict) -> list[str]:
    """Structural validation of a ReportingEvent: required members present, ids unique, every analysis's
    analysisSetId/methodId/outputId and every result's operationId/groupingId/groupId resolves. Returns the
    problems (empty = valid)."""
    problems = []
    for member in ("id", "name", "mainListOfContents", "analysisSets", "analysisGroupings", "methods", "analyses", "outputs"):
        if member not in event:
            problems.append(f"ReportingEvent: member {member} missing")
    if problems:
        return problems
    sets = {s["id"] for s in event["analysisSets"]}
    outputs = {o["id"] for o in event["outputs"]}
    operations = {m["id"]: {op["id"] for op in m["operations"]} for m in event["methods"]}
    groups = {g["id"]: {grp["id"] for grp in g["groups"]} for g in event["analysisGroupings"]}
    ids = [a["id"] for a in event["analyses"]]
    if len(ids) != len(set(ids)):
        problems.append("analyses: ids not unique")
    for analysis in event["analyses"]:
        where = f"analysis {analysis['id']}"
        if analysis["analysisSetId"] not in sets:
            problems.append(f"{where}: analysisSetId {analysis['analysisSetId']} not defined")
        if analysis["methodId"] not in operations:
            problems.append(f"{where}: methodId {analysis['methodId']} not defined")
            continue
        if analysis["outputId"] not in outputs:
            problems.append(f"{where}: outputId {analysis['outputId']} not defined")
        if not analysis["results"]:
            problems.append(f"{where}: no results")
        for result in analysis["results"]:
            if result["operationId"] not in operations[analysis["methodId"]]:
                problems.append(f"{where}: operationId {result['operationId']} not in its method")
            for rg in result["resultGroups"]:
                if rg["groupId"] not in groups.get(rg["groupingId"], set()):
                    problems.append(f"{where}: group {rg['groupingId']}/{rg['groupId']} not defined")
            if not isinstance(result["formattedValue"], str):
                problems.append(f"{where}: formattedValue is not text")
    for item in event["mainListOfContents"]["contentsList"]["listItems"]:
        if item["outputId"] not in outputs:
            problems.append(f"list of contents: outputId {item['outputId']} not defined")
    return problems


def results_frame(event: dict) -> pd.DataFrame:
    """Every result of the event as rows (analysis id, operation id, raw and formatted value): for tests."""
    return pd.DataFrame([{"analysis": a["id"], "operation": r["operationId"], "raw": r["rawValue"], "formatted": r["formattedValue"]}
                         for a in event["analyses"] for r in a["results"]])

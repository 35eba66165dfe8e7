"""define.xml 2.1 (CDISC Define-XML 2.1.0) for the SDTM and the ADaM datasets, built with odmlib from the
specs under `sap/specs/` and the data (text lengths and the value-level test codes present).

- ItemGroupDefs: class, structure, keys (KeySequence), leaf to the lower-case XPT file.
- ItemDefs: label, type, length (longest value, as in the XPT), SAS display format, origin; a collected
  variable cites its acrf page(s) (`submission.pages`), a predecessor its source variable.
- CodeLists: CDISC terms with their NCI codes (Alias nci:ExtCodeID) where the specs hold them; a codelist
  whose source is "Sponsor" (or not CDISC) has no StandardOID and a CommentDef saying it is sponsor-defined;
  MedDRA-coded AE and ADAE variables reference MedDRA as an external dictionary (terms and codes apart, as a
  codelist has one data type), at the version of the AE coding (sap/study.yaml safety.meddra_version).
- ValueListDefs/WhereClauseDefs: the result variable of each parameterised dataset per test code (LB
  LBORRES by LBTESTCD, QS QSORRES by QSTESTCD, ADLB/ADQS/ADRS AVAL by PARAMCD).
- MethodDefs from the derivation texts of derived variables; CommentDefs for the derivation texts of the
  assigned/protocol variables.
- Standards: SDTMIG 3.4 or ADaMIG 1.3 and the CDISC CT package date (sap/study.yaml trial_summary.standards).
- ADaM: the Analysis Results Metadata (ARM 1.0) of the primary and key secondary outputs (`submission.arm`),
  checked against the ARM 1.0 schema that defineutils ships.

A value the specs lack (a collected variable's source form, a derivation) is a SpecError naming the variable.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
from odmlib.arm_1_0 import model as ARM
from odmlib.define_2_1 import model as DEF

import sap
from sap.errors import Problem, SpecError
from sap.specs import Codelist, DatasetSpec, Variable, load_codelists
from sap.study import Study
from submission.datasetjson import group_oid, item_oid
from submission.pages import source_pages

ADAMIG_VERSION = "1.3"
STYLESHEET = "define2-1.xsl"
MEDDRA_VARIABLES = {"AELLT", "AELLTCD", "AEDECOD", "AEPTCD", "AEHLT", "AEHLTCD", "AEHLGT", "AEHLGTCD", "AEBODSYS",
                    "AEBDSYCD", "AESOC", "AESOCCD"}
MEDDRA_CODELISTS = {"text": ("CL.MEDDRA", "MedDRA"), "integer": ("CL.MEDDRA.CODE", "MedDRA code")}
# Parameterised datasets: (result variable, parameter variable) of their value-level metadata.
VALUE_LEVEL = {"LB": ("LBORRES", "LBTESTCD"), "QS": ("QSORRES", "QSTESTCD"), "ADLB": ("AVAL", "PARAMCD"),
               "ADQS": ("AVAL", "PARAMCD"), "ADRS": ("AVAL", "PARAMCD")}
DATA_TYPES = {"text": "text", "iso8601": "datetime", "integer": "integer", "float": "float", "date": "integer"}
TRIAL_DESIGN = {"TS", "TA", "TE", "TV", "TI"}


def _text(value: str) -> DEF.TranslatedText:
    return DEF.TranslatedText(_content=value, lang="en")


def _description(value: str) -> DEF.Description:
    return DEF.Description(TranslatedText=[_text(value)])


def is_cdisc(codelist: Codelist) -> bool:
    return codelist.source.upper().startswith("CDISC")


def _length(var: Variable, values: pd.Series | None) -> int | None:
    """Text: the longest value in bytes (the XPT length), at least 1; numbers: 8; dates: none."""
    if var.type in ("text",):
        if values is None or values.dropna().empty:
            return 1
        return max(1, int(values.dropna().astype(str).map(lambda v: len(v.encode("utf-8"))).max()))
    if var.type in ("integer", "float", "date"):
        return 8
    return None


class DefineBuilder:
    """One define.xml: the datasets of one standard."""

    def __init__(self, standard: str, study: Study, stamp: dt.date):
        self.standard = standard
        self.study = study
        self.stamp = stamp
        self.codelists = load_codelists()
        self.item_defs: list = []
        self.methods: dict[str, DEF.MethodDef] = {}
        self.comments: dict[str, DEF.CommentDef] = {}
        self.used_codelists: dict[str, Codelist] = {}
        self.value_lists: list = []
        self.where_clauses: list = []
        self.uses_meddra: set[str] = set()
        self.problems: list[Problem] = []
        ct = study.trial_summary.standards.ct.isoformat()
        if standard == "SDTM":
            self.standards = [DEF.Standard(OID="STD.SDTMIG", Name="SDTMIG", Type="IG", Version=study.trial_summary.standards.sdtmig, Status="Final"),
                              DEF.Standard(OID="STD.CT.SDTM", Name="CDISC/NCI", Type="CT", PublishingSet="SDTM", Version=ct, Status="Final")]
            self.ig_oid, self.ct_oid = "STD.SDTMIG", "STD.CT.SDTM"
        else:
            self.standards = [DEF.Standard(OID="STD.ADAMIG", Name="ADaMIG", Type="IG", Version=ADAMIG_VERSION, Status="Final"),
                              DEF.Standard(OID="STD.CT.ADAM", Name="CDISC/NCI", Type="CT", PublishingSet="ADaM", Version=ct, Status="Final"),
                              DEF.Standard(OID="STD.CT.SDTM", Name="CDISC/NCI", Type="CT", PublishingSet="SDTM", Version=ct, Status="Final")]
            self.ig_oid, self.ct_oid = "STD.ADAMIG", "STD.CT.SDTM"

    # ---- variables

    def _origin(self, spec: DatasetSpec, var: Variable) -> DEF.Origin:
        if var.origin == "Collected":
            try:
                pages = source_pages(spec.name, var.name, var.source)
            except SpecError as exc:
                self.problems += exc.problems
                pages = [1]
            ref = DEF.DocumentRef(leafID="LF.acrf", PDFPageRef=[DEF.PDFPageRef(Type="PhysicalRef", PageRefs=" ".join(map(str, pages)))])
            return DEF.Origin(Type="Collected", Source="Investigator", DocumentRef=[ref])
        if var.origin == "Predecessor":
            if not var.source:
                self.problems.append(Problem(f"sap/specs/{spec.standard.lower()}/{spec.name.lower()}.yaml", "predecessor variable without its source variable", variable=f"{spec.name}.{var.name}"))
            return DEF.Origin(Type="Predecessor", Description=_description(var.source or ""))
        return DEF.Origin(Type=var.origin, Source="Sponsor")

    def _codelist_ref(self, spec: DatasetSpec, var: Variable) -> DEF.CodeListRef | None:
        if var.codelist:
            self.used_codelists[var.codelist] = self.codelists[var.codelist]
            return DEF.CodeListRef(CodeListOID=f"CL.{var.codelist}")
        if spec.name in ("AE", "ADAE") and var.name in MEDDRA_VARIABLES:
            # MedDRA terms and MedDRA codes: two external codelists, as a codelist has one data type
            kind = "integer" if var.type == "integer" else "text"
            self.uses_meddra.add(kind)
            return DEF.CodeListRef(CodeListOID=MEDDRA_CODELISTS[kind][0])
        return None

    def item_def(self, spec: DatasetSpec, var: Variable, values: pd.Series | None, oid: str | None = None,
                 name: str | None = None) -> DEF.ItemDef:
        item = DEF.ItemDef(OID=oid or item_oid(spec.name, var.name), Name=name or var.name, DataType=DATA_TYPES[var.type],
                           SASFieldName=var.name, Description=_description(var.label))
        length = _length(var, values)
        if length is not None:
            item.Length = length
        if var.type == "float" and values is not None:
            item.SignificantDigits = _significant_digits(values)
        if var.format:
            item.DisplayFormat = var.format
        if var.type == "date" and not var.format:
            item.DisplayFormat = "DATE9."
        ref = self._codelist_ref(spec, var)
        if ref is not None:
            item.CodeListRef = ref
        item.Origin = [self._origin(spec, var)]
        if var.derivation and var.origin not in ("Derived",):
            oid_comment = f"COM.{spec.name}.{var.name}"
            self.comments[oid_comment] = DEF.CommentDef(OID=oid_comment, Description=_description(var.derivation))
            item.CommentOID = oid_comment
        return item

    def method_oid(self, spec: DatasetSpec, var: Variable) -> str | None:
        if var.origin != "Derived":
            return None
        if not var.derivation:
            self.problems.append(Problem(f"sap/specs/{spec.standard.lower()}/{spec.name.lower()}.yaml", "derived variable without its derivation (no MethodDef)", variable=f"{spec.name}.{var.name}"))
            return None
        oid = f"MT.{spec.name}.{var.name}"
        self.methods[oid] = DEF.MethodDef(OID=oid, Name=f"Algorithm to derive {spec.name}.{var.name}", Type="Computation",
                                          Description=_description(var.derivation))
        return oid

    # ---- datasets

    def item_group(self, spec: DatasetSpec, df: pd.DataFrame) -> DEF.ItemGroupDef:
        name = spec.name
        refs = []
        for order, var in enumerate((v for v in spec.variables if v.name in df.columns), start=1):
            ref = DEF.ItemRef(ItemOID=item_oid(name, var.name), OrderNumber=order, Mandatory="Yes" if var.core == "Req" else "No")
            if var.name in spec.keys:
                ref.KeySequence = spec.keys.index(var.name) + 1
            method = self.method_oid(spec, var)
            if method:
                ref.MethodOID = method
            refs.append(ref)
            item = self.item_def(spec, var, df[var.name])
            if name in VALUE_LEVEL and var.name == VALUE_LEVEL[name][0]:
                item.ValueListRef = DEF.ValueListRef(ValueListOID=f"VL.{name}.{var.name}")
                self.value_level(spec, var, df)
            self.item_defs.append(item)
        stem = name.lower()
        group = DEF.ItemGroupDef(
            OID=group_oid(name), Name=name, SASDatasetName=name, Repeating="No" if name in ("DM", "ADSL") else "Yes",
            IsReferenceData="Yes" if name in TRIAL_DESIGN else "No", Purpose="Tabulation" if self.standard == "SDTM" else "Analysis",
            Structure=spec.structure, ArchiveLocationID=f"LF.{name}", StandardOID=self.ig_oid,
            Description=_description(spec.label), ItemRef=refs, Class=DEF.Class(Name=spec.dataset_class),
            leaf=DEF.leaf(ID=f"LF.{name}", href=f"{stem}.xpt", title=DEF.title(_content=f"{stem}.xpt")))
        if self.standard == "SDTM":
            group.Domain = name
        return group

    def value_level(self, spec: DatasetSpec, var: Variable, df: pd.DataFrame) -> None:
        """One ItemRef per parameter code present, each with its WhereClauseDef (parameter EQ code) and its
        own ItemDef (the result's type, origin and method; the parameter's decode as description)."""
        result, parameter = VALUE_LEVEL[spec.name]
        parameter_var = spec.variable(parameter)
        decodes = self.codelists[parameter_var.codelist] if parameter_var.codelist else None
        refs = []
        codes = sorted(df[parameter].dropna().astype(str).unique())
        for order, code in enumerate(codes, start=1):
            where = f"WC.{spec.name}.{parameter}.{code}"
            self.where_clauses.append(DEF.WhereClauseDef(OID=where, RangeCheck=[DEF.RangeCheck(
                Comparator="EQ", SoftHard="Soft", ItemOID=item_oid(spec.name, parameter), CheckValue=[DEF.CheckValue(_content=code)])]))
            oid = f"{item_oid(spec.name, result)}.{code}"
            values = df.loc[df[parameter].astype(str) == code, result]
            item = self.item_def(spec, var, values, oid=oid, name=f"{result}.{code}")
            label = (decodes.decode(code) if decodes else None) or code
            item.Description = _description(f"{var.label}: {label}"[:200])
            self.item_defs.append(item)
            ref = DEF.ItemRef(ItemOID=oid, OrderNumber=order, Mandatory="No", WhereClauseRef=[DEF.WhereClauseRef(WhereClauseOID=where)])
            method = self.method_oid(spec, var)
            if method:
                ref.MethodOID = method
            refs.append(ref)
        self.value_lists.append(DEF.ValueListDef(OID=f"VL.{spec.name}.{result}", ItemRef=refs))

    # ---- codelists

    def codelist(self, codelist: Codelist) -> DEF.CodeList:
        data_type = {"text": "text", "integer": "integer", "float": "float"}[codelist.data_type]
        cl = DEF.CodeList(OID=f"CL.{codelist.id}", Name=codelist.name, DataType=data_type)
        with_decode = any(t.decode for t in codelist.terms)
        items = []
        for order, term in enumerate(codelist.terms, start=1):
            aliases = [DEF.Alias(Context="nci:ExtCodeID", Name=term.c_code)] if term.c_code else []
            if with_decode:
                item = DEF.CodeListItem(CodedValue=term.value, OrderNumber=order, Decode=DEF.Decode(TranslatedText=[_text(term.decode or term.value)]), Alias=aliases)
            else:
                item = DEF.EnumeratedItem(CodedValue=term.value, OrderNumber=order, Alias=aliases)
            if term.extended:  # a sponsor term in an extensible CDISC codelist: no NCI code exists
                item.ExtendedValue = "Yes"
            items.append(item)
        if with_decode:
            cl.CodeListItem = items
        else:
            cl.EnumeratedItem = items
        if is_cdisc(codelist):
            cl.StandardOID = "STD.CT.ADAM" if self.standard == "ADaM" and "ADAM" in codelist.source.upper() else "STD.CT.SDTM"
            if codelist.c_code:
                cl.Alias = [DEF.Alias(Context="nci:ExtCodeID", Name=codelist.c_code)]
        else:
            self.comments["COM.SPONSORCL"] = DEF.CommentDef(OID="COM.SPONSORCL", Description=_description(
                "Sponsor-defined codelist: CDISC Controlled Terminology has no codelist for these values"))
            cl.CommentOID = "COM.SPONSORCL"
        return cl

    # ---- document

    def build(self, datasets: dict[str, tuple[DatasetSpec, pd.DataFrame]], documents: dict[str, str],
              analysis_results=None) -> DEF.ODM:
        """The ODM document; `documents` maps leaf ids (LF.acrf, LF.csdrg, LF.adrg) to file names;
        `analysis_results` (submission.arm.AnalysisResults, ADaM only): the ARM 1.0 displays, their
        WhereClauseDefs and program leaves, written with odmlib's ARM model (the Define-XML 2.1 model
        extended by arm:AnalysisResultDisplays)."""
        model = ARM if analysis_results is not None else DEF
        groups = [self.item_group(spec, df) for spec, df in datasets.values()]
        if self.problems:
            raise SpecError(list(dict.fromkeys(self.problems)))
        codelists = [self.codelist(c) for _, c in sorted(self.used_codelists.items())]
        for kind in sorted(self.uses_meddra, reverse=True):
            oid, name = MEDDRA_CODELISTS[kind]
            codelists.append(DEF.CodeList(OID=oid, Name=name, DataType=kind, ExternalCodeList=DEF.ExternalCodeList(
                Dictionary="MEDDRA", Version=self.study.safety.meddra_version)))
        study = self.study.study
        mdv = model.MetaDataVersion(OID=f"MDV.{study.studyid}.{self.standard}", Name=f"{study.studyid} {self.standard}",
                                  Description=f"{self.standard} datasets of {study.studyid}", DefineVersion="2.1.0")
        mdv.Standards = DEF.Standards(Standard=self.standards)
        if "LF.acrf" in documents:
            mdv.AnnotatedCRF = DEF.AnnotatedCRF(DocumentRef=DEF.DocumentRef(leafID="LF.acrf"))
        guides = [leaf for leaf in documents if leaf != "LF.acrf"]
        if guides:
            mdv.SupplementalDoc = DEF.SupplementalDoc(DocumentRef=[DEF.DocumentRef(leafID=leaf) for leaf in guides])
        mdv.ValueListDef = self.value_lists
        mdv.WhereClauseDef = self.where_clauses + (analysis_results.where_clauses if analysis_results else [])
        mdv.ItemGroupDef = groups
        mdv.ItemDef = self.item_defs
        mdv.CodeList = codelists
        mdv.MethodDef = list(self.methods.values())
        mdv.CommentDef = list(self.comments.values())
        leaves = {**documents, **(analysis_results.leaves if analysis_results else {})}
        mdv.leaf = [DEF.leaf(ID=leaf, href=href, title=DEF.title(_content=href)) for leaf, href in leaves.items()]
        if analysis_results is not None:
            mdv.AnalysisResultDisplays = analysis_results.displays
        when = f"{self.stamp.isoformat()}T00:00:00"
        return model.ODM(FileOID=f"{study.studyid}.{self.standard}.define", FileType="Snapshot", CreationDateTime=when,
                       AsOfDateTime=when, ODMVersion="1.3.2", Originator=study.sponsor, SourceSystem="il2-sle-sap",
                       SourceSystemVersion=sap.__version__, Context="Submission",
                       Study=model.Study(OID=study.studyid, GlobalVariables=DEF.GlobalVariables(
                           StudyName=DEF.StudyName(_content=study.studyid), StudyDescription=DEF.StudyDescription(_content=study.title),
                           ProtocolName=DEF.ProtocolName(_content=study.nct)), MetaDataVersion=mdv))


def _significant_digits(values: pd.Series) -> int:
    """Decimal places of the most precise value (at least 1), as define.xml SignificantDigits."""
    present = values.dropna()
    if present.empty:
        return 1
    decimals = present.map(lambda v: len(repr(float(v)).split(".")[1].rstrip("0")) if "e" not in repr(float(v)) else 8)
    return max(1, int(decimals.max()))


def write_define(odm: DEF.ODM, path: Path) -> Path:
    """define.xml with the stylesheet processing instruction (the CDISC define2-1.xsl beside it)."""
    body = odm.to_xml_string()
    text = ("<?xml version='1.0' encoding='UTF-8'?>\n"
            f'<?xml-stylesheet type="text/xsl" href="{STYLESHEET}"?>\n' + body + "\n")
    path.write_text(text, encoding="utf-8")
    return path


def stylesheet_path() -> Path:
    """The CDISC Define-XML 2.1 stylesheet shipped by defineutils (PyPI), offline."""
    import defineutils

    return Path(defineutils.__file__).resolve().parent / "definehtml" / STYLESHEET


def schema_path(arm: bool = False) -> Path:
    """The Define-XML 2.1 XML schema shipped by defineutils; with `arm`, the ARM 1.0 schema (arm1-0-0.xsd,
    also shipped by defineutils), which is Define-XML 2.1 with MetaDataVersion extended by
    arm:AnalysisResultDisplays."""
    import defineutils

    schemas = Path(defineutils.__file__).resolve().parent / "validate" / "schema"
    return schemas / "cdisc-arm-1.0" / "arm1-0-0.xsd" if arm else schemas / "cdisc-define-2.1" / "define2-1-0.xsd"


def schema_errors(path: Path, arm: bool = False) -> list[str]:
    """Violations of the Define-XML 2.1 schema, or of the ARM 1.0 schema with `arm` (xmlschema, offline);
    empty when valid."""
    import xmlschema

    return [str(e).splitlines()[0] for e in xmlschema.XMLSchema(str(schema_path(arm))).iter_errors(str(path))]


def render_html(define: Path, html: Path) -> Path:
    """define.xml rendered to HTML with the CDISC stylesheet (lxml XSLT), offline."""
    from lxml import etree

    transform = etree.XSLT(etree.parse(str(stylesheet_path())))
    html.write_bytes(etree.tostring(transform(etree.parse(str(define))), method="html", encoding="utf-8"))
    return html

"""Generate the fictional Kaigan Steel plant model and its two example scenarios.

Run from the repository root:

    python scenarios/_generate_jp_steel.py

It (re)writes, deterministically (fixed seed, standard library only):

    models/jp-steel/{model.yaml,nodes.csv,edges.csv,products.csv}
    scenarios/jp-steel-fy2026/{scenario.yaml,projects.csv,project_periods.csv,orders.csv,account.csv,README.md}
    scenarios/jp-steel-both-methods/{scenario.yaml,projects.csv,project_periods.csv,orders.csv,README.md}

Every file follows docs/file-contract.md. The script checks the contract rules it can check
(unique ids, the four edge kinds, routes along material edges, CFP sums, period lengths, 6.6
groups, account below the pools) before it writes anything, and prints the REPs of every pool
(increases netted per project) and the demand it faces.

All names are fictional. The numbers are shaped on docs in shared/docs/domain-facts.md
(sections 2-4): BF-BOF products 2.0-2.5 t-CO2e/t with ~70 % scope 1, 0-5 % scope 2 and
0.5-0.6 t/t upstream scope 3; scrap-EAF products 0.4-0.7 t-CO2e/t; blast furnaces of
3-4 Mt hot metal a year; an HBI charge cutting some 10 % of the furnace's emissions.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

SEED = 20260630
ROOT = Path(__file__).resolve().parent.parent
MODEL_DIR = ROOT / "models" / "jp-steel"
MAIN_DIR = ROOT / "scenarios" / "jp-steel-fy2026"
BOTH_DIR = ROOT / "scenarios" / "jp-steel-both-methods"

ORGANIZATION = "Kaigan Steel Corporation"
HIGASHI, NISHI, MINATO = "Higashi Works", "Nishi Works", "Minato Works"

# CFP data period of every product (FY2025) and the FY2026 run.
CFP_START, CFP_END = date(2025, 4, 1), date(2026, 3, 31)
AS_OF = date(2026, 6, 30)
OP_START, OP_END = date(2026, 4, 1), date(2027, 3, 31)

D = Decimal
MILLI = D("0.001")


# --------------------------------------------------------------------------------------------
# 1. Plant model: nodes and edges
# --------------------------------------------------------------------------------------------

# (node_id, site, process, steel, name)
NODES = [
    # Higashi Works: integrated, flat products, power and oxygen plants
    ("HG_CO", HIGASHI, "coke_oven", True, "Higashi coke oven batteries"),
    ("HG_SP", HIGASHI, "sinter", True, "Higashi sinter plant"),
    ("HG_BF1", HIGASHI, "blast_furnace", True, "Higashi No.1 blast furnace (5,150 m3)"),
    ("HG_BF2", HIGASHI, "blast_furnace", True, "Higashi No.2 blast furnace (4,600 m3)"),
    ("HG_BOF", HIGASHI, "bof", True, "Higashi No.1 steelmaking shop (BOF + RH degasser)"),
    ("HG_CC1", HIGASHI, "continuous_casting", True, "Higashi slab casters"),
    ("HG_HSM", HIGASHI, "hot_strip_mill", True, "Higashi hot strip mill"),
    ("HG_PCM", HIGASHI, "cold_rolling_mill", True, "Higashi pickling line + tandem cold mill"),
    ("HG_CAL", HIGASHI, "continuous_annealing", True, "Higashi continuous annealing line"),
    ("HG_CGL", HIGASHI, "galvanizing", True, "Higashi continuous galvanizing line (GI/GA)"),
    ("HG_PP", HIGASHI, "power_plant", True, "Higashi works power plant (off-gas + coal fired)"),
    ("HG_OXY", HIGASHI, "oxygen_plant", True, "Higashi oxygen plant (air separation units)"),
    ("HG_CHEM", HIGASHI, "coal_tar_chemicals", False, "Kaigan Chemical tar & benzol refinery (non-steel)"),
    # Nishi Works: integrated, plates and sections; ships slabs to Higashi
    ("NS_CO", NISHI, "coke_oven", True, "Nishi coke oven batteries"),
    ("NS_SP", NISHI, "sinter", True, "Nishi sinter plant"),
    ("NS_BF1", NISHI, "blast_furnace", True, "Nishi No.1 blast furnace (4,800 m3)"),
    ("NS_BF2", NISHI, "blast_furnace", True, "Nishi No.2 blast furnace (4,000 m3)"),
    ("NS_BOF", NISHI, "bof", True, "Nishi steelmaking shop (BOF)"),
    ("NS_CC1", NISHI, "continuous_casting", True, "Nishi slab casters"),
    ("NS_CC2", NISHI, "continuous_casting", True, "Nishi bloom / beam-blank caster"),
    ("NS_PM", NISHI, "plate_mill", True, "Nishi plate mill (TMCP)"),
    ("NS_SM", NISHI, "section_mill", True, "Nishi H-beam and sheet-pile mill"),
    # Minato Works: scrap EAF, long products
    ("MN_EAF", MINATO, "eaf", True, "Minato 150 t DC electric arc furnace"),
    ("MN_CC", MINATO, "continuous_casting", True, "Minato billet caster"),
    ("MN_BWM", MINATO, "bar_wire_rod_mill", True, "Minato bar and wire-rod mill"),
    ("MN_SM", MINATO, "section_mill", True, "Minato light section mill"),
]

# (source, target, kind, flow). Edge kinds (6.7, 7.2.3):
#   material  - the product's own line (hot metal, liquid steel, slabs, coil); routes follow only these;
#   input     - a unit's output consumed by another unit: coke, coke breeze, sinter;
#   utility   - power, steam, oxygen, cold blast;
#   byproduct - process gases, tar / light oil, waste heat sent elsewhere: recorded, never a connection.
# A project at node n is connected to a product when n is on the product's route, or a directed path
# of input/utility edges leads from n to a route node (feed_reach / connected below).
EDGES = [
    # Higashi: the feeders of the blast furnaces (input) and the product line (material)
    ("HG_CO", "HG_SP", "input", "coke breeze"),
    ("HG_CO", "HG_BF1", "input", "coke"),
    ("HG_CO", "HG_BF2", "input", "coke"),
    ("HG_SP", "HG_BF1", "input", "sinter"),
    ("HG_SP", "HG_BF2", "input", "sinter"),
    ("HG_BF1", "HG_BOF", "material", "hot metal"),
    ("HG_BF2", "HG_BOF", "material", "hot metal"),
    ("HG_BOF", "HG_CC1", "material", "liquid steel"),
    ("HG_CC1", "HG_HSM", "material", "slabs"),
    ("HG_HSM", "HG_PCM", "material", "hot-rolled coil"),
    ("HG_PCM", "HG_CAL", "material", "full-hard coil"),
    ("HG_PCM", "HG_CGL", "material", "full-hard coil"),
    # Nishi: feeders (input) and product line (material)
    ("NS_CO", "NS_SP", "input", "coke breeze"),
    ("NS_CO", "NS_BF1", "input", "coke"),
    ("NS_CO", "NS_BF2", "input", "coke"),
    ("NS_SP", "NS_BF1", "input", "sinter"),
    ("NS_SP", "NS_BF2", "input", "sinter"),
    ("NS_BF1", "NS_BOF", "material", "hot metal"),
    ("NS_BF2", "NS_BOF", "material", "hot metal"),
    ("NS_BOF", "NS_CC1", "material", "liquid steel"),
    ("NS_BOF", "NS_CC2", "material", "liquid steel"),
    ("NS_CC1", "NS_PM", "material", "slabs"),
    ("NS_CC2", "NS_SM", "material", "beam blanks / blooms"),
    ("NS_CC1", "HG_HSM", "material", "slabs shipped by coastal vessel (inter-site)"),
    # Minato material flows
    ("MN_EAF", "MN_CC", "material", "liquid steel"),
    ("MN_CC", "MN_BWM", "material", "billets"),
    ("MN_CC", "MN_SM", "material", "billets"),
    # Higashi by-products: the off-gases of the coke ovens, blast furnaces and converters fire the
    # works power plant, and the coke ovens send tar and light oil to the (non-steel) tar plant.
    # They are recorded but connect nothing: a blast-furnace project does not reach every unit the
    # power plant supplies through its gas, and a coke-oven project does not reach the tar plant.
    ("HG_CO", "HG_CHEM", "byproduct", "crude coal tar and light oil"),
    ("HG_CO", "HG_PP", "byproduct", "coke-oven gas as boiler fuel"),
    ("HG_BF1", "HG_PP", "byproduct", "blast-furnace gas as boiler fuel"),
    ("HG_BF2", "HG_PP", "byproduct", "blast-furnace gas as boiler fuel"),
    ("HG_BOF", "HG_PP", "byproduct", "converter (LD) gas as boiler fuel"),
    ("HG_CHEM", "HG_PP", "byproduct", "surplus waste-heat steam from the tar plant"),
    # Higashi utilities
    ("HG_PP", "HG_OXY", "utility", "electric power"),
    ("HG_PP", "HG_BF1", "utility", "cold blast (turbo-blower) and power"),
    ("HG_PP", "HG_BF2", "utility", "cold blast (turbo-blower) and power"),
    ("HG_PP", "HG_BOF", "utility", "electric power"),
    ("HG_PP", "HG_HSM", "utility", "electric power"),
    ("HG_PP", "HG_PCM", "utility", "electric power"),
    ("HG_PP", "HG_CAL", "utility", "electric power and steam"),
    ("HG_PP", "HG_CGL", "utility", "electric power and steam"),
    ("HG_PP", "NS_PM", "utility", "electric power over the private 154 kV line (inter-site)"),
    ("HG_OXY", "HG_BF1", "utility", "oxygen for blast enrichment"),
    ("HG_OXY", "HG_BF2", "utility", "oxygen for blast enrichment"),
    ("HG_OXY", "HG_BOF", "utility", "converter oxygen"),
]

# --------------------------------------------------------------------------------------------
# 2. Products (FY2025 CFPs, t-CO2e/t)
# --------------------------------------------------------------------------------------------

HG1 = ["HG_BF1", "HG_BOF", "HG_CC1", "HG_HSM"]
HG2 = ["HG_BF2", "HG_BOF", "HG_CC1", "HG_HSM"]
NH1 = ["NS_BF1", "NS_BOF", "NS_CC1", "HG_HSM"]  # Nishi slabs hot-rolled at Higashi
NH2 = ["NS_BF2", "NS_BOF", "NS_CC1", "HG_HSM"]
CR, GL = ["HG_PCM", "HG_CAL"], ["HG_PCM", "HG_CGL"]
NPL1, NPL2 = ["NS_BF1", "NS_BOF", "NS_CC1", "NS_PM"], ["NS_BF2", "NS_BOF", "NS_CC1", "NS_PM"]
NSM1, NSM2 = ["NS_BF1", "NS_BOF", "NS_CC2", "NS_SM"], ["NS_BF2", "NS_BOF", "NS_CC2", "NS_SM"]
MBW, MSM = ["MN_EAF", "MN_CC", "MN_BWM"], ["MN_EAF", "MN_CC", "MN_SM"]

# (product_id, name, route, production_t, general_cfp, scope2, scope3_upstream, scope3_allocable,
#  scrap_share); scope1 = general - scope2 - scope3, so the three parts add up exactly.
# Higashi No.1 BF route products carry the HBI / ferro-coke effect (about -0.13 t/t on scope 1,
# partly offset by the embodied emissions of the purchased HBI in scope 3).
PRODUCT_TABLE = [
    ("HG-HRC-B1", "Hot-rolled coil, commercial grade (Higashi BF1 route)", HG1, 1_380_000, "2.020", "0.035", "0.565", "0.100", "0.16"),
    ("HG-HRC-HS-B1", "High-strength hot-rolled coil for chassis (Higashi BF1 route)", HG1, 560_000, "2.055", "0.040", "0.570", "0.102", "0.15"),
    ("HG-CR-B1", "Cold-rolled annealed sheet (Higashi BF1 route)", HG1 + CR, 640_000, "2.205", "0.078", "0.575", "0.125", "0.16"),
    ("HG-CR-HS-B1", "High-strength cold-rolled sheet for car bodies (Higashi BF1 route)", HG1 + CR, 420_000, "2.232", "0.085", "0.580", "0.128", "0.15"),
    ("HG-GA-B1", "Galvannealed sheet for exposed auto panels (Higashi BF1 route)", HG1 + GL, 560_000, "2.286", "0.088", "0.590", "0.135", "0.15"),
    ("HG-GI-B1", "Hot-dip galvanized sheet (Higashi BF1 route)", HG1 + GL, 300_000, "2.279", "0.086", "0.590", "0.134", "0.16"),
    ("HG-HRC-B2", "Hot-rolled coil, commercial grade (Higashi BF2 route)", HG2, 1_250_000, "2.148", "0.035", "0.548", "0.095", "0.14"),
    ("HG-FH-B2", "Full-hard cold-rolled coil for re-rollers (Higashi BF2 route)", HG2 + ["HG_PCM"], 260_000, "2.262", "0.070", "0.555", "0.110", "0.14"),
    ("HG-CR-B2", "Cold-rolled annealed sheet (Higashi BF2 route)", HG2 + CR, 520_000, "2.332", "0.078", "0.560", "0.120", "0.13"),
    ("HG-GA-B2", "Galvannealed sheet (Higashi BF2 route)", HG2 + GL, 350_000, "2.412", "0.088", "0.577", "0.132", "0.13"),
    ("HG-GI-B2", "Hot-dip galvanized sheet for construction and appliances (Higashi BF2 route)", HG2 + GL, 480_000, "2.405", "0.086", "0.575", "0.130", "0.14"),
    ("NH-HRC-N1", "Hot-rolled coil from Nishi slabs (Nishi BF1 -> Higashi HSM)", NH1, 700_000, "2.185", "0.045", "0.555", "0.098", "0.12"),
    ("NH-HRC-N2", "Hot-rolled coil from Nishi slabs (Nishi BF2 -> Higashi HSM)", NH2, 450_000, "2.195", "0.045", "0.557", "0.098", "0.11"),
    ("NH-CR-N1", "Cold-rolled sheet from Nishi slabs (Nishi BF1 -> Higashi HSM/CAL)", NH1 + CR, 280_000, "2.365", "0.085", "0.565", "0.122", "0.12"),
    ("NH-GI-N1", "Hot-dip galvanized sheet from Nishi slabs (Nishi BF1 -> Higashi CGL)", NH1 + GL, 220_000, "2.438", "0.092", "0.580", "0.133", "0.12"),
    ("NS-PL-B1", "Heavy plate for shipbuilding (Nishi BF1 route)", NPL1, 1_050_000, "2.305", "0.095", "0.560", "0.105", "0.13"),
    ("NS-PL-HT-B1", "High-tensile TMCP plate for bridges and offshore (Nishi BF1 route)", NPL1, 380_000, "2.362", "0.102", "0.568", "0.110", "0.12"),
    ("NS-PL-B2", "Heavy plate, general structural (Nishi BF2 route)", NPL2, 820_000, "2.318", "0.095", "0.562", "0.105", "0.12"),
    ("NS-HB-B1", "Rolled H-beam (Nishi BF1 route)", NSM1, 650_000, "2.205", "0.090", "0.545", "0.100", "0.18"),
    ("NS-HBL-B1", "Large H-beam for building columns (Nishi BF1 route)", NSM1, 300_000, "2.232", "0.094", "0.550", "0.102", "0.17"),
    ("NS-HB-B2", "Rolled H-beam (Nishi BF2 route)", NSM2, 520_000, "2.214", "0.090", "0.547", "0.100", "0.18"),
    ("NS-SPL-B2", "Steel sheet piles (Nishi BF2 route)", NSM2, 260_000, "2.226", "0.092", "0.548", "0.101", "0.18"),
    ("MN-RB", "Deformed reinforcing bar (scrap EAF)", MBW, 200_000, "0.452", "0.232", "0.112", "0.045", "0.98"),
    ("MN-WR", "Wire rod for mesh and cold heading (scrap EAF)", MBW, 120_000, "0.505", "0.252", "0.135", "0.050", "0.95"),
    ("MN-SB", "Special bar quality for auto shafts (scrap EAF)", MBW, 80_000, "0.642", "0.298", "0.219", "0.058", "0.92"),
    ("MN-SEC", "Light H-beams and angles (scrap EAF)", MSM, 130_000, "0.478", "0.240", "0.126", "0.047", "0.99"),
    ("MN-CH", "Channels and flats (scrap EAF)", MSM, 70_000, "0.486", "0.244", "0.128", "0.047", "1.00"),
]


# --------------------------------------------------------------------------------------------
# 3. Reduction projects and their calculation periods
# --------------------------------------------------------------------------------------------

@dataclass
class Project:
    project_id: str
    name: str
    node: str
    kind: str
    additionality: str  # "" = not additional
    gas: str
    verified: bool
    verifier: str
    statement_id: str
    technology: str
    took_effect: date  # extra column: when the project started to cut emissions
    note: str  # extra column: why it counts or not (guideline clause)

    @property
    def eligible(self) -> bool:
        node_is_steel = NODE_BY_ID[self.node][3]
        return (
            self.kind in ("process_conversion", "fuel_conversion", "raw_material_conversion")
            and self.additionality != ""
            and self.verified
            and node_is_steel
        )


JQA = "Japan Quality Assurance Organization"
PROJECTS = [
    Project("HG-BF1-HBI", "HBI charging in Higashi No.1 blast furnace", "HG_BF1",
            "raw_material_conversion", "investment", "CO2", True, JQA, "JQA-GX-2025-0147",
            "Charging of purchased hot briquetted iron (about 100 kg/t hot metal) to cut the reducing agent rate",
            date(2024, 10, 1), "eligible; 6.6 group with HG-BF1-FCOKE (share 0.75)"),
    Project("HG-BF1-FCOKE", "Ferro-coke charging in Higashi No.1 blast furnace", "HG_BF1",
            "raw_material_conversion", "technology", "CO2", True, JQA, "JQA-GX-2025-0148",
            "Ferro-coke (coal + iron ore, carbonised together) replacing part of the coke charge",
            date(2024, 10, 1), "eligible; 6.6 group with HG-BF1-HBI (share 0.25)"),
    Project("MN-EAF-CONV", "Minato large EAF conversion (hot metal charge replaced by scrap)", "MN_EAF",
            "process_conversion", "technology", "GHG", True, "ClassNK", "NK-GHG-2025-0312",
            "150 t DC electric arc furnace with scrap preheating replacing the former 70 t AC furnace "
            "that was charged with about 40 % hot metal from the Minato mini blast furnace (shut 2024)",
            date(2024, 10, 1), "eligible; reaches Minato products only (6.7)"),
    Project("HG-PP-BIOMASS", "Biomass co-firing at the Higashi works power plant", "HG_PP",
            "fuel_conversion", "investment", "GHG", True, "Bureau Veritas Japan", "BVJ-VS-2026-0058",
            "Wood-pellet co-firing (about 12 % of heat input) replacing supplementary coal",
            date(2025, 10, 1), "eligible; utility node, reaches products through utility edges"),
    # A feeder unit: the sinter plant is on no route, but its sinter (input edges) feeds both Higashi
    # furnaces. It took effect after the FY2025 CFP data period started, so the `basis` used to
    # choose the order methods stays as it was for every product.
    Project("HG-SP-BIOCHAR", "Biochar replacing coke breeze in the Higashi sinter plant", "HG_SP",
            "fuel_conversion", "investment", "CO2", True, JQA, "JQA-GX-2026-0203",
            "Woody biochar replacing part of the coke breeze as the sinter bed fuel (about 25 % of its heat input)",
            date(2025, 10, 1),
            "eligible; feeder unit: reaches the Higashi BF1/BF2 products through sinter (input edges)"),
    Project("NS-BF2-H2", "Hydrogen injection trial at Nishi No.2 blast furnace", "NS_BF2",
            "fuel_conversion", "", "CO2", False, "", "",
            "Tuyere injection of hydrogen-rich gas, trial campaign",
            date(2025, 10, 1), "not eligible: no additionality given (6.2.1.2) and not verified (6.8)"),
    Project("HG-CHEM-LNG", "LNG conversion of tar distillation furnaces", "HG_CHEM",
            "fuel_conversion", "technology", "CO2", True, JQA, "JQA-GX-2025-0151",
            "Heavy-oil burners of the tar distillation furnaces converted to LNG",
            date(2024, 4, 1), "not eligible: non-steel operation (6.2.1.1)"),
    Project("HG-OXY-NFC", "Non-fossil certificates for the Higashi oxygen plant's purchased power", "HG_OXY",
            "external_certificate", "regulatory", "CO2", True, "Bureau Veritas Japan", "BVJ-VS-2026-0061",
            "FIT non-fossil certificates retired against grid electricity bought by the air separation units",
            date(2025, 4, 1), "not eligible: external certificate (6.3)"),
]
PROJECT_BY_ID = {p.project_id: p for p in PROJECTS}
# gases included in the REPs of the GHG projects (7.3.1, 6.5): the EAF conversion also cuts the mini blast
# furnace's CH4/N2O; biomass co-firing changes the boiler's CH4 and N2O as well as its CO2
GASES_INCLUDED = {"MN-EAF-CONV": "CO2;CH4;N2O", "HG-PP-BIOMASS": "CO2;CH4;N2O"}


@dataclass
class Period:
    project_id: str
    start: date
    end: date
    baseline_intensity: Decimal  # t-CO2e per t (per MWh for the power plant)
    output_t: int
    reduction: Decimal  # share of baseline emissions removed (< 0: an increase); project emissions are derived
    uncertainty: Decimal
    attribution_share: Decimal | None = None

    @property
    def project_emissions_t(self) -> int:
        e = self.baseline_intensity * self.output_t * (1 - self.reduction)
        return int(e.quantize(D(1), rounding=ROUND_HALF_UP))


FY24H2 = (date(2024, 10, 1), date(2025, 3, 31))
FY24 = (date(2024, 4, 1), date(2025, 3, 31))
FY25H1 = (date(2025, 4, 1), date(2025, 9, 30))
FY25H2 = (date(2025, 10, 1), date(2026, 3, 31))
FY25 = (date(2025, 4, 1), date(2026, 3, 31))
FY26H1 = (date(2026, 4, 1), date(2026, 9, 30))  # ends after as_of: not yet usable
FY25Q3 = (date(2025, 10, 1), date(2025, 12, 31))
FY25Q4 = (date(2026, 1, 1), date(2026, 3, 31))

# Higashi No.1 BF node data with both projects running (6.6): baseline 1.720 t-CO2e/t hot metal
# (FY2023 actual), about 1.8 Mt hot metal per half-year; the group cuts 9.5-12 % of it.
# Both rows of a period carry the same node data; the shares split the group's REPs.
BF1_GROUP = [  # (period, output_t, reduction)
    (FY24H2, 1_790_000, "0.095"),
    (FY25H1, 1_840_000, "0.110"),
    (FY25H2, 1_810_000, "0.120"),
]
PERIODS: list[Period] = []
for (start, end), q, r in BF1_GROUP:
    PERIODS.append(Period("HG-BF1-HBI", start, end, D("1.720"), q, D(r), D("0.05"), D("0.75")))
    PERIODS.append(Period("HG-BF1-FCOKE", start, end, D("1.720"), q, D(r), D("0.08"), D("0.25")))
PERIODS += [
    # Minato: baseline = FY2023 actual of the old furnace with ~40 % hot metal charge (1.100 t/t
    # crude steel, mini-BF emissions included); new EAF at 0.50 t/t in the ramp-up half-year and
    # 0.44 t/t in FY2025 (about 0.63 Mt crude steel for 0.60 Mt of products).
    Period("MN-EAF-CONV", *FY24H2, D("1.100"), 270_000, D("0.545"), D("0.06")),
    Period("MN-EAF-CONV", *FY25, D("1.100"), 635_000, D("0.600"), D("0.06")),
    # Power plant: output is MWh sent out and the baseline is t-CO2e/MWh (see README).
    Period("HG-PP-BIOMASS", *FY25H2, D("0.620"), 1_720_000, D("0.090"), D("0.05")),
    Period("HG-PP-BIOMASS", *FY26H1, D("0.620"), 1_690_000, D("0.100"), D("0.05")),
    # Sinter plant biochar, quarterly periods; baseline 0.200 t-CO2e/t sinter (FY2024 actual). The
    # first quarter is a net INCREASE (commissioning trouble: unstable flame front, extra ignition
    # gas and breeze): project emissions 2 % above the baseline. Chapter 6 counts increases too;
    # the increase is netted against the project's next period (net_pools).
    Period("HG-SP-BIOCHAR", *FY25Q3, D("0.200"), 1_980_000, D("-0.020"), D("0.05")),
    Period("HG-SP-BIOCHAR", *FY25Q4, D("0.200"), 2_030_000, D("0.090"), D("0.05")),
    # Ineligible projects: the REPs are real numbers, they must simply never reach an order.
    Period("NS-BF2-H2", *FY25H2, D("1.750"), 1_300_000, D("0.015"), D("0.10")),
    Period("HG-CHEM-LNG", *FY24, D("0.210"), 420_000, D("0.180"), D("0.04")),
    Period("HG-CHEM-LNG", *FY25, D("0.210"), 410_000, D("0.190"), D("0.04")),
    Period("HG-OXY-NFC", *FY25, D("0.180"), 1_150_000, D("0.600"), D("0.02")),
]

# REPs already used by earlier runs (FY2024 pools only): (project_id, period_end, used_t)
ACCOUNT = [
    ("HG-BF1-HBI", FY24H2[1], 140_000),
    ("HG-BF1-FCOKE", FY24H2[1], 30_000),
    ("MN-EAF-CONV", FY24H2[1], 85_000),
]


# --------------------------------------------------------------------------------------------
# 4. Customers (fictional) and order generation
# --------------------------------------------------------------------------------------------

@dataclass
class Customer:
    name: str
    industry: str
    weight: float  # relative number of orders
    tonnage: tuple[int, int]  # log-uniform range of one order, t
    premium: tuple[float, float]  # value per t-CO2e
    p_allocation: float  # chance of GX Allocation when the product allows it (post_project)
    products: dict[str, int] = field(default_factory=dict)  # product_id -> weight


CUSTOMERS = [
    # automakers: big, value GX steel most, like Allocated CFPs in their own product CFPs
    Customer("Sakuragi Motor Corporation", "automotive", 16, (1500, 20000), (70, 120), 0.70,
             {"HG-CR-HS-B1": 4, "HG-GA-B1": 4, "HG-HRC-HS-B1": 2, "HG-CR-B1": 1, "MN-SB": 1}),
    Customer("Tsubasa Motors", "automotive", 14, (1500, 20000), (65, 115), 0.65,
             {"HG-CR-HS-B1": 3, "HG-GA-B1": 4, "HG-HRC-HS-B1": 2, "HG-GA-B2": 1, "MN-SB": 1}),
    Customer("Aozora Automobile Co.", "automotive", 11, (1000, 15000), (60, 110), 0.60,
             {"HG-CR-HS-B1": 3, "HG-GA-B1": 3, "HG-CR-B1": 2, "HG-CR-B2": 1}),
    Customer("Minamikaze Motors", "automotive", 8, (800, 12000), (55, 105), 0.60,
             {"HG-CR-HS-B1": 2, "HG-GA-B1": 2, "HG-HRC-HS-B1": 2, "MN-SB": 1}),
    # auto parts
    Customer("Kurogane Chassis Industries", "auto parts", 8, (500, 8000), (45, 90), 0.35,
             {"HG-HRC-HS-B1": 4, "HG-HRC-B1": 2, "HG-HRC-B2": 1}),
    Customer("Hibiki Auto Parts", "auto parts", 6, (300, 5000), (40, 85), 0.35,
             {"HG-CR-B1": 2, "HG-GA-B1": 1, "HG-HRC-HS-B1": 2, "MN-WR": 1}),
    Customer("Sanko Seimitsu Forging", "auto parts", 5, (200, 3000), (45, 90), 0.40,
             {"MN-SB": 4, "MN-WR": 1}),
    # shipbuilders: plates from Nishi (pre_project products: mass balance only)
    Customer("Shiokaze Shipbuilding", "shipbuilding", 9, (2000, 20000), (30, 80), 0.0,
             {"NS-PL-B1": 4, "NS-PL-B2": 2, "NS-PL-HT-B1": 1}),
    Customer("Aonami Heavy Industries", "shipbuilding", 8, (2000, 18000), (30, 75), 0.0,
             {"NS-PL-B1": 3, "NS-PL-B2": 2, "NS-PL-HT-B1": 2}),
    Customer("Nagisa Dockyard Co.", "shipbuilding", 5, (1000, 12000), (25, 70), 0.0,
             {"NS-PL-B1": 2, "NS-PL-B2": 2}),
    Customer("Umitaka Zosen", "shipbuilding", 4, (1000, 10000), (25, 65), 0.0,
             {"NS-PL-B2": 2, "NS-PL-B1": 1}),
    # construction and steel structures
    Customer("Daichi Construction", "construction", 8, (300, 8000), (20, 70), 0.25,
             {"NS-HB-B1": 3, "NS-HBL-B1": 2, "MN-RB": 2, "MN-SEC": 1}),
    Customer("Yamabiko Kensetsu", "construction", 7, (300, 6000), (20, 65), 0.25,
             {"NS-HB-B2": 2, "MN-RB": 3, "MN-CH": 1, "NS-SPL-B2": 1}),
    Customer("Takumi Engineering & Construction", "construction", 6, (500, 10000), (25, 70), 0.20,
             {"NS-HBL-B1": 2, "NS-HB-B1": 2, "NS-PL-HT-B1": 1, "MN-RB": 1}),
    Customer("Tokiwa Komuten", "construction", 4, (100, 3000), (20, 55), 0.30,
             {"MN-RB": 3, "MN-SEC": 2, "HG-GI-B2": 1}),
    Customer("Kawanami Bridge Works", "steel structures", 5, (500, 8000), (30, 75), 0.0,
             {"NS-PL-HT-B1": 3, "NS-PL-B1": 1, "NS-HBL-B1": 1}),
    Customer("Ishizue Steel Structures", "steel structures", 5, (300, 6000), (25, 70), 0.20,
             {"NS-HB-B1": 2, "NS-HB-B2": 1, "MN-SEC": 2, "MN-CH": 1}),
    Customer("Tetsuyama Rebar Fabricators", "rebar fabrication", 6, (200, 4000), (20, 60), 0.30,
             {"MN-RB": 1}),
    Customer("Hosoi Wire Products", "wire products", 4, (100, 2500), (25, 60), 0.25,
             {"MN-WR": 1}),
    Customer("Mirai Home Systems", "prefabricated housing", 4, (200, 4000), (30, 80), 0.35,
             {"HG-GI-B1": 2, "MN-SEC": 1, "MN-CH": 1, "HG-GI-B2": 1}),
    # appliance and electrical makers
    Customer("Hikari Denki", "appliances", 7, (300, 6000), (40, 95), 0.35,
             {"HG-GI-B1": 2, "HG-CR-B1": 2, "HG-GI-B2": 1, "NH-GI-N1": 1}),
    Customer("Sora Home Appliances", "appliances", 6, (300, 5000), (40, 90), 0.35,
             {"HG-GI-B1": 2, "HG-CR-B1": 1, "HG-CR-B2": 1, "NH-CR-N1": 1}),
    Customer("Kazahana Electric", "electrical equipment", 4, (200, 4000), (35, 85), 0.30,
             {"HG-CR-B1": 2, "NH-CR-N1": 1, "HG-GI-B2": 1}),
    # service centres, traders, re-rollers
    Customer("Nakamachi Steel Service Center", "steel service center", 8, (500, 12000), (20, 55), 0.15,
             {"HG-HRC-B1": 2, "HG-HRC-B2": 3, "NH-HRC-N1": 2, "NH-HRC-N2": 1}),
    Customer("Hokuyo Shoji", "steel trading", 7, (1000, 15000), (20, 50), 0.10,
             {"HG-HRC-B2": 2, "NH-HRC-N1": 2, "NH-HRC-N2": 2, "HG-CR-B2": 1}),
    Customer("Marukane Kozai Trading", "steel trading", 5, (500, 10000), (20, 50), 0.10,
             {"HG-HRC-B1": 1, "NH-HRC-N2": 2, "NS-PL-B2": 1, "MN-RB": 1}),
    Customer("Chitose Steel Service", "steel service center", 5, (300, 6000), (25, 55), 0.15,
             {"HG-CR-B1": 1, "HG-CR-B2": 2, "NH-CR-N1": 1, "HG-GI-B2": 1}),
    Customer("Kotobuki Cold Strip", "re-rolling", 3, (500, 6000), (20, 45), 0.0,
             {"HG-FH-B2": 1}),
    # machinery, energy, rail
    Customer("Ginga Machinery", "machinery", 4, (200, 5000), (35, 80), 0.25,
             {"NS-PL-B2": 2, "HG-HRC-B1": 1, "MN-SB": 1}),
    Customer("Hokuto Construction Machinery", "construction machinery", 5, (500, 8000), (40, 85), 0.30,
             {"NS-PL-HT-B1": 2, "NS-PL-B2": 1, "HG-HRC-HS-B1": 1}),
    Customer("Akebono Tank Engineering", "energy equipment", 3, (500, 8000), (35, 80), 0.0,
             {"NS-PL-B1": 1, "NS-PL-HT-B1": 2}),
    Customer("Shinro Rolling Stock", "railway vehicles", 3, (200, 3000), (40, 85), 0.25,
             {"HG-HRC-B1": 1, "NS-PL-B2": 1, "HG-CR-B1": 1}),
]
CUSTOMER_BY_NAME = {c.name: c for c in CUSTOMERS}

N_MAIN_ORDERS = 330
ALPHA_LEVELS = ["0.3", "0.5", "0.5", "0.7", "0.8", "1.0", "1.0"]  # discrete GX value levels


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------

NODE_BY_ID = {n[0]: n for n in NODES}


def fmt_bool(b: bool) -> str:
    return "true" if b else "false"


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for r in rows:
            w.writerow(["" if v is None else v for v in r])


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def period_ok(start: date, end: date) -> bool:
    """At most one year: the end is before the same day one year later."""
    try:
        limit = start.replace(year=start.year + 1)
    except ValueError:  # 29 February
        limit = start.replace(year=start.year + 1, day=28) + timedelta(days=1)
    return start <= end < limit


EDGE_KINDS = ("material", "input", "utility", "byproduct")
CONNECTING_KINDS = ("input", "utility")  # what a feeder unit reaches a route through (6.7)


def feed_reach(node: str) -> set[str]:
    """Nodes reachable from `node` through input/utility edges only (node itself included).
    Material edges off the route and by-product edges connect nothing."""
    seen, todo = {node}, [node]
    while todo:
        u = todo.pop()
        for s, t, k, _ in EDGES:
            if k in CONNECTING_KINDS and s == u and t not in seen:
                seen.add(t)
                todo.append(t)
    return seen


def connected(project: Project, route: list[str]) -> bool:
    """6.7 / 7.2.3: the project's node is on the route, or feeds a route node through input/utility edges."""
    return bool(feed_reach(project.node) & set(route))


def reps(p: Period, group_uncertainty: Decimal | None = None) -> Decimal:
    """Signed REPs of one period: R = B x Q - E, then R x (1 - u) for a reduction and R x (1 + u)
    for an increase (R < 0), the conservative side either way; a 6.6 group uses the max
    uncertainty, then the share. Increases are netted per project by net_pools."""
    u = p.uncertainty if group_uncertainty is None else group_uncertainty
    r = p.baseline_intensity * p.output_t - p.project_emissions_t
    total = r * (1 - u) if r >= 0 else r * (1 + u)
    return total * (p.attribution_share if p.attribution_share is not None else D(1))


def pool_reps(periods: list[Period]) -> dict[tuple[str, date], Decimal]:
    """REPs of every (project, period_end), with the 6.6 rule for projects sharing a node."""
    out = {}
    for p in periods:
        node = PROJECT_BY_ID[p.project_id].node
        group = [
            q for q in periods
            if PROJECT_BY_ID[q.project_id].node == node and q.start <= p.end and p.start <= q.end
        ]
        gu = max(q.uncertainty for q in group) if len(group) > 1 else None
        out[(p.project_id, p.end)] = reps(p, gu)
    return out


def net_pools(periods: list[Period], pools: dict) -> tuple[dict, dict]:
    """Net every period with negative REPs (an increase, ch. 6: "both GHG emission reductions and
    increases ... shall be included") against the same project's other periods: first against its
    latest earlier periods, most recent first, then against later ones in time order.

    Returns (net pools, transfers); transfers[(project_id, end)] lists (other period key, amount)
    taken from (for a negative period) or given to (for a positive one) that period. A deficit no
    period can absorb stays on the negative period."""
    net = dict(pools)
    transfers: dict = {k: [] for k in pools}
    by_project: dict[str, list[Period]] = {}
    for p in sorted(periods, key=lambda p: (p.start, p.end)):
        by_project.setdefault(p.project_id, []).append(p)
    for pid, ps in by_project.items():
        for i, p in enumerate(ps):
            key = (pid, p.end)
            if net[key] >= 0:
                continue
            for q in list(reversed(ps[:i])) + ps[i + 1:]:
                other = (pid, q.end)
                take = min(-net[key], max(D(0), net[other]))
                if take > 0:
                    net[other] -= take
                    net[key] += take
                    transfers[key].append((other, take))
                    transfers[other].append((key, take))
                if net[key] >= 0:
                    break
    return net, transfers


# --------------------------------------------------------------------------------------------
# build the tables
# --------------------------------------------------------------------------------------------

@dataclass
class Product:
    product_id: str
    name: str
    route: list[str]
    production_t: int
    general: Decimal
    s1: Decimal
    s2: Decimal
    s3: Decimal
    s3a: Decimal
    scrap: Decimal
    basis: str  # internal only (no longer written): which products take GX Allocation orders

    @property
    def site(self) -> str:
        return NODE_BY_ID[self.route[-1]][1]


def build_products() -> list[Product]:
    products = []
    for pid, name, route, prod, gen, s2, s3, s3a, scrap in PRODUCT_TABLE:
        gen, s2, s3, s3a = D(gen), D(s2), D(s3), D(s3a)
        s1 = gen - s2 - s3
        # `basis` is no longer written to products.csv (the engine derives pre/post-project per
        # project from the dates). It is kept here only to choose which products may take GX
        # Allocation orders, so it must keep its former values or the random stream of the order
        # books changes: post_project when an eligible project connected to the product took
        # effect before the CFP data period started (the whole FY2025 CFP includes its effect,
        # 8.2.2). The Higashi BF1 products are post_project (HBI/ferro-coke, Oct 2024) although the
        # power plant and sinter plant projects they also reach only started in Oct 2025.
        before = [
            p for p in PROJECTS
            if p.eligible and connected(p, route) and p.took_effect < CFP_START
        ]
        basis = "post_project" if before else "pre_project"
        products.append(Product(pid, name, route, prod, gen, s1, s2, s3, s3a, D(scrap), basis))
    # Guard of the order books: exactly the Higashi BF1 route and Minato products (as before the
    # edge kinds were split; the new feeder reach adds no project that took effect before FY2025).
    assert {p.product_id for p in products if p.basis == "post_project"} == \
        BF1_PRODUCTS | {row[0] for row in PRODUCT_TABLE if row[2][0] == "MN_EAF"}
    return products


def loguniform_tonnage(rng: random.Random, lo: int, hi: int) -> int:
    t = math.exp(rng.uniform(math.log(lo), math.log(hi)))
    step = 10 if t < 1000 else 100
    return max(100, min(20000, int(round(t / step)) * step))


def delivery_date(rng: random.Random) -> date:
    return OP_START + timedelta(days=rng.randrange((OP_END - OP_START).days + 1))


@dataclass
class Order:
    customer: str
    product_id: str
    tonnage_t: int
    delivery: date
    method: str
    premium: Decimal
    alpha_max: str = ""
    requested_reps_t: int | None = None
    gas: str = ""
    order_id: str = ""


def make_main_orders(rng: random.Random, products: dict[str, Product]) -> list[Order]:
    names = [c.name for c in CUSTOMERS]
    weights = [c.weight for c in CUSTOMERS]
    orders = []
    for _ in range(N_MAIN_ORDERS):
        c = CUSTOMER_BY_NAME[rng.choices(names, weights)[0]]
        pid = rng.choices(list(c.products), list(c.products.values()))[0]
        prod = products[pid]
        tonnage = loguniform_tonnage(rng, *c.tonnage)
        allocation = prod.basis == "post_project" and rng.random() < c.p_allocation
        premium = D(str(round(rng.uniform(*c.premium), 2))).quantize(D("0.01"))
        o = Order(c.name, pid, tonnage, delivery_date(rng),
                  "allocation" if allocation else "mass_balance", premium)
        if allocation and rng.random() < 0.6:
            o.alpha_max = rng.choice(ALPHA_LEVELS)
        if rng.random() < 0.18:
            # a customer asking for a fixed quantity, e.g. to halve its scope 1+2 share
            share = D(rng.choice(["0.3", "0.5", "0.5", "0.8", "1.0"]))
            o.requested_reps_t = int((tonnage * (prod.s1 + prod.s2) * share).quantize(D(1)))
        g = rng.random()  # a few customers ask for one gas type (7.3.1); most accept either
        if g < 0.05 and pid in BF1_PRODUCTS:
            o.gas = "CO2"
        elif g > 0.98:
            o.gas = "GHG"
        orders.append(o)
    # two deliberate groups of equal premiums (ties the engine must break deterministically)
    for premium, idx in (("80.00", [5, 47, 133, 201]), ("45.00", [12, 88, 260])):
        for i in idx:
            orders[i].premium = D(premium)
    orders.sort(key=lambda o: (o.delivery, o.customer, o.product_id, o.tonnage_t))
    for i, o in enumerate(orders, 1):
        o.order_id = f"KS26-{i:04d}"
    return orders


BOTH_CUSTOMERS = [
    "Sakuragi Motor Corporation", "Tsubasa Motors", "Aozora Automobile Co.", "Minamikaze Motors",
    "Kurogane Chassis Industries", "Hibiki Auto Parts", "Hikari Denki", "Sora Home Appliances",
]
BOTH_PRODUCTS = {  # customer -> the three products it buys in both methods
    "Sakuragi Motor Corporation": ["HG-CR-HS-B1", "HG-GA-B1", "HG-HRC-HS-B1"],
    "Tsubasa Motors": ["HG-CR-HS-B1", "HG-GA-B1", "HG-HRC-HS-B1"],
    "Aozora Automobile Co.": ["HG-CR-HS-B1", "HG-GA-B1", "HG-CR-B1"],
    "Minamikaze Motors": ["HG-CR-HS-B1", "HG-GA-B1", "HG-HRC-HS-B1"],
    "Kurogane Chassis Industries": ["HG-HRC-HS-B1", "HG-HRC-B1", "HG-CR-B1"],
    "Hibiki Auto Parts": ["HG-CR-B1", "HG-HRC-HS-B1", "HG-GA-B1"],
    "Hikari Denki": ["HG-GI-B1", "HG-CR-B1", "HG-GA-B1"],
    "Sora Home Appliances": ["HG-GI-B1", "HG-CR-B1", "HG-CR-HS-B1"],
}


def make_both_orders(rng: random.Random) -> tuple[list[Order], tuple[Order, Order]]:
    """Each customer buys each of its products once under each method: same products, same
    customers, same pools; only the method (and premium / alpha) differs."""
    orders = []
    for name in BOTH_CUSTOMERS:
        c = CUSTOMER_BY_NAME[name]
        for pid in BOTH_PRODUCTS[name]:
            for method in ("mass_balance", "allocation"):
                tonnage = loguniform_tonnage(rng, 5000, 20000)
                premium = D(str(round(rng.uniform(*c.premium), 2))).quantize(D("0.01"))
                o = Order(name, pid, tonnage, delivery_date(rng), method, premium)
                if method == "allocation" and rng.random() < 0.6:
                    o.alpha_max = rng.choice(ALPHA_LEVELS)
                orders.append(o)
    # one tie across methods: the same customer pays the same for both methods of one product
    orders[0].premium = orders[1].premium
    tie = (orders[0], orders[1])
    orders.sort(key=lambda o: (o.delivery, o.customer, o.product_id, o.method))
    for i, o in enumerate(orders, 1):
        o.order_id = f"BM26-{i:03d}"
    return orders, tie


BF1_PRODUCTS = {row[0] for row in PRODUCT_TABLE if row[2][0] == "HG_BF1"}


# --------------------------------------------------------------------------------------------
# contract checks
# --------------------------------------------------------------------------------------------

def check_model(products: list[Product]) -> None:
    ids = [n[0] for n in NODES]
    assert len(ids) == len(set(ids)), "duplicate node_id"
    keys = [(s, t, k) for s, t, k, _ in EDGES]
    assert len(keys) == len(set(keys)), "duplicate edge"
    for s, t, k, _ in EDGES:
        assert s in NODE_BY_ID and t in NODE_BY_ID and s != t and k in EDGE_KINDS
    # material edges form a DAG (Kahn)
    mat = [(s, t) for s, t, k, _ in EDGES if k == "material"]
    indeg = {n: 0 for n in ids}
    for _, t in mat:
        indeg[t] += 1
    todo, seen = [n for n in ids if indeg[n] == 0], 0
    while todo:
        u = todo.pop()
        seen += 1
        for s, t in mat:
            if s == u:
                indeg[t] -= 1
                if indeg[t] == 0:
                    todo.append(t)
    assert seen == len(ids), "material edges form a cycle"
    pids = [p.product_id for p in products]
    assert len(pids) == len(set(pids)), "duplicate product_id"
    matset = set(mat)
    for p in products:
        for a, b in zip(p.route, p.route[1:]):
            assert (a, b) in matset, f"{p.product_id}: {a}>{b} is not a material edge"
        assert p.s1 + p.s2 + p.s3 == p.general
        assert min(p.s1, p.s2, p.s3, p.s3a) >= 0 and p.s3a <= p.s3
        assert 0 <= p.scrap <= 1 and p.production_t > 0
        for v in (p.general, p.s1, p.s2, p.s3, p.s3a):
            assert v == v.quantize(MILLI), f"{p.product_id}: more than 3 decimals"
        bf = p.route[0].startswith(("HG_BF", "NS_BF"))
        share1, share3 = p.s1 / p.general, p.s3 / p.general
        if bf:
            assert D("2.0") <= p.general <= D("2.5"), p.product_id
            assert D("0.68") <= share1 <= D("0.80") and D("0.20") <= share3 <= D("0.30"), p.product_id
            assert p.s2 / p.general <= D("0.05") and D("0.10") <= p.scrap <= D("0.20"), p.product_id
        else:
            assert D("0.4") <= p.general <= D("0.7") and p.scrap >= D("0.9"), p.product_id
            assert p.s2 > p.s1, p.product_id
        assert period_ok(CFP_START, CFP_END)


def check_scenario(projects: list[Project], periods: list[Period], orders: list[Order],
                   products: dict[str, Product], account) -> dict:
    ids = [p.project_id for p in projects]
    assert len(ids) == len(set(ids))
    for p in projects:
        assert p.node in NODE_BY_ID and p.gas in ("CO2", "GHG")
        if p.verified:
            assert p.verifier and p.statement_id, p.project_id
    keys = [(p.project_id, p.end) for p in periods]
    assert len(keys) == len(set(keys)), "duplicate pool"
    for p in periods:
        assert p.project_id in ids and period_ok(p.start, p.end), p
        assert p.output_t > 0 and p.project_emissions_t >= 0 and 0 <= p.uncertainty < 1
    # 6.6 groups: same node, overlapping periods -> identical node data, shares sum to 1
    for p in periods:
        node = PROJECT_BY_ID[p.project_id].node
        group = [q for q in periods if PROJECT_BY_ID[q.project_id].node == node
                 and q.start <= p.end and p.start <= q.end]
        if len(group) > 1:
            for q in group:
                assert (q.start, q.end, q.baseline_intensity, q.output_t, q.project_emissions_t) == \
                       (p.start, p.end, p.baseline_intensity, p.output_t, p.project_emissions_t), (p, q)
            assert sum(q.attribution_share for q in group) == 1, group
        else:
            assert p.attribution_share is None
    pools = pool_reps(periods)
    net, transfers = net_pools(periods, pools)
    assert sum(net.values()) == sum(pools.values())  # netting moves REPs, it never creates them
    for pid, end, used in account:
        assert (pid, end) in net and 0 <= used <= net[(pid, end)], (pid, end, used)
    oids = [o.order_id for o in orders]
    assert len(oids) == len(set(oids))
    for o in orders:
        assert o.product_id in products and 100 <= o.tonnage_t <= 20000
        assert OP_START <= o.delivery <= OP_END and o.premium >= 0
        if o.method == "allocation":
            assert products[o.product_id].basis == "post_project", o
        else:
            assert o.alpha_max == "", o
        assert o.alpha_max == "" or 0 <= D(o.alpha_max) <= 1
        assert o.gas in ("", "CO2", "GHG")
    return pools, net, transfers


# --------------------------------------------------------------------------------------------
# writers
# --------------------------------------------------------------------------------------------

def write_model(products: list[Product]) -> None:
    write_text(MODEL_DIR / "model.yaml", (
        "# Generated by scenarios/_generate_jp_steel.py - edit the script, not this file.\n"
        f"organization: {ORGANIZATION}\n"
        "country: JP\n"
        'description: "Fictional Japanese steelmaker with two integrated BF-BOF works (Higashi: flat '
        "products, works power and oxygen plants; Nishi: plates, H-beams, and slabs shipped to the "
        'Higashi hot strip mill) and one scrap-EAF works (Minato: bars, wire rod, light sections)."\n'
    ))
    write_csv(MODEL_DIR / "nodes.csv", ["node_id", "site", "process", "steel", "name"],
              [[n[0], n[1], n[2], fmt_bool(n[3]), n[4]] for n in NODES])
    write_csv(MODEL_DIR / "edges.csv", ["source", "target", "kind", "flow"],
              [list(e) for e in EDGES])
    write_csv(MODEL_DIR / "products.csv",
              ["product_id", "site", "route", "production_t", "general_cfp", "scope1", "scope2",
               "scope3_upstream", "scope3_allocable", "scrap_share",
               "cfp_period_start", "cfp_period_end", "name"],
              [[p.product_id, p.site, ">".join(p.route), p.production_t, p.general, p.s1, p.s2,
                p.s3, p.s3a, p.scrap, CFP_START.isoformat(), CFP_END.isoformat(), p.name]
               for p in products])


def write_projects(folder: Path, projects: list[Project], periods: list[Period]) -> None:
    write_csv(folder / "projects.csv",
              ["project_id", "name", "node", "kind", "additionality", "gas", "gases", "verified",
               "verifier", "statement_id", "technology", "took_effect", "note"],
              [[p.project_id, p.name, p.node, p.kind, p.additionality, p.gas, GASES_INCLUDED.get(p.project_id, p.gas),
                fmt_bool(p.verified), p.verifier, p.statement_id, p.technology, p.took_effect.isoformat(), p.note]
               for p in projects])
    write_csv(folder / "project_periods.csv",
              ["project_id", "period_start", "period_end", "baseline_intensity", "output_t",
               "project_emissions_t", "uncertainty", "attribution_share"],
              [[p.project_id, p.start.isoformat(), p.end.isoformat(), p.baseline_intensity,
                p.output_t, p.project_emissions_t, p.uncertainty, p.attribution_share]
               for p in periods])


def write_orders(folder: Path, orders: list[Order]) -> None:
    write_csv(folder / "orders.csv",
              ["order_id", "customer", "product_id", "tonnage_t", "delivery_date", "method",
               "premium", "alpha_max", "requested_reps_t", "gas"],
              [[o.order_id, o.customer, o.product_id, o.tonnage_t, o.delivery.isoformat(),
                o.method, o.premium, o.alpha_max, o.requested_reps_t, o.gas] for o in orders])


def write_scenario_yaml(folder: Path, name: str, description: str) -> None:
    write_text(folder / "scenario.yaml", (
        "# Generated by scenarios/_generate_jp_steel.py - edit the script, not this file.\n"
        "model: ../../models/jp-steel\n"
        f"as_of: {AS_OF.isoformat()}\n"
        f"operational_period: {{start: {OP_START.isoformat()}, end: {OP_END.isoformat()}}}\n"
        "mass_balance: {expiry_years: 3}\n"
        f'name: "{name}"\n'
        f'description: "{description}"\n'
    ))


# --------------------------------------------------------------------------------------------
# summaries (printed, and used in the READMEs)
# --------------------------------------------------------------------------------------------

def usable(p: Period) -> bool:
    return PROJECT_BY_ID[p.project_id].eligible and p.end <= AS_OF


def pool_table(periods: list[Period], pools, account) -> str:
    """README table of the pools. `pools` = (REPs per period, net pools, transfers) from
    check_scenario; the "after netting" column appears when some period is an increase."""
    raw, net, transfers = pools
    used = {(pid, end): u for pid, end, u in account}
    by_key = {(p.project_id, p.end): p for p in periods}
    netting = any(v < 0 for v in raw.values())
    lines = (["| project | period | REPs t-CO2e | after netting | used before | status |",
              "|---|---|---:|---:|---:|---|"] if netting else
             ["| project | period | REPs t-CO2e | used before | status |",
              "|---|---|---:|---:|---|"])
    for p in periods:
        key = (p.project_id, p.end)
        proj = PROJECT_BY_ID[p.project_id]
        if not proj.eligible:
            status = "never counts: " + proj.note.split(": ", 1)[-1]
        elif p.end > AS_OF:
            status = f"eligible, period ends after as_of {AS_OF}: not usable yet"
        elif raw[key] < 0:
            status = "net emission increase"
        else:
            status = "usable"
        for other, amount in transfers[key]:
            q = by_key[other]
            if raw[key] < 0:
                status += f"; netted against {q.start}..{q.end} ({amount:,.0f})"
            else:
                status += f"; net of the increase of {q.start}..{q.end} ({amount:,.0f})"
        if net[key] < 0:
            status += f"; {-net[key]:,.0f} not offset by any reduction of the project"
        u = used.get(key, 0)
        after = f" {max(D(0), net[key]):,.0f} |" if netting else ""
        lines.append(f"| {p.project_id} | {p.start}..{p.end} | {raw[key]:,.0f} |{after} {u:,} | {status} |")
    return "\n".join(lines)


def demand_summary(orders: list[Order], products: dict[str, Product], periods: list[Period],
                   pools, account) -> list[str]:
    """Indicative demand: tonnage x (scope1 + scope2) per order (the 7.3.2 cap for mass balance),
    limited by requested_reps_t; compared with the usable REPs (net of increases, net of the
    account) the order can physically reach."""
    pools = {k: max(D(0), v) for k, v in pools[1].items()}
    used = {(pid, end): u for pid, end, u in account}
    out = []
    total_demand = D(0)
    reach_sets: dict[frozenset, list] = {}
    for o in orders:
        prod = products[o.product_id]
        d = o.tonnage_t * (prod.s1 + prod.s2)
        if o.requested_reps_t is not None:
            d = min(d, D(o.requested_reps_t))
        total_demand += d
        reach = frozenset(
            (p.project_id, p.end) for p in periods
            if usable(p) and connected(PROJECT_BY_ID[p.project_id], prod.route)
        )
        reach_sets.setdefault(reach, [D(0), 0])
        reach_sets[reach][0] += d
        reach_sets[reach][1] += 1
    supply_all = sum(pools[(p.project_id, p.end)] - used.get((p.project_id, p.end), 0)
                     for p in periods if usable(p))
    out.append(f"total indicative demand {total_demand:,.0f} t-CO2e vs usable REPs {supply_all:,.0f}")
    for reach, (d, n) in sorted(reach_sets.items(), key=lambda kv: -kv[1][0]):
        supply = sum(pools[k] - used.get(k, 0) for k in reach)
        names = ", ".join(sorted({k[0] for k in reach})) or "(no eligible project connected)"
        out.append(f"  {n:3d} orders reaching {names}: demand {d:,.0f} vs supply {supply:,.0f}")
    return out


MAIN_README = """# Scenario jp-steel-fy2026: Kaigan Steel, FY2026 order book

Generated by `scenarios/_generate_jp_steel.py` (edit the script, then rerun it). Plant model:
`models/jp-steel` (fictional Kaigan Steel Corporation: Higashi and Nishi integrated works, Minato
scrap-EAF works). Run date `as_of` {as_of}; GX Allocation operational period FY2026
({op_start}..{op_end}); mass-balance REPs expire 3 years after their period ends (7.2.2).

## What it shows

- {n_orders} orders from {n_customers} customers (automakers, shipbuilders, construction,
  appliance makers, service centres) on {n_products} products, {n_alloc} of them GX Allocation
  ({alloc_share:.0%}), the rest GX Mass Balance. Demand is larger than the usable REPs, so the
  premiums decide who gets them. {n_req} orders cap their REPs with `requested_reps_t`, {n_gas}
  ask for one gas type, and {n_tied} orders share a premium with another order (two groups
  were set on purpose: four orders at 80.00 and three at 45.00).
- A 6.6 group: HBI charging and ferro-coke charging both run in Higashi No.1 blast furnace with
  identical calculation periods. Each period's REPs are computed once from the node data with the
  larger uncertainty (0.08) and split 0.75 / 0.25.
- Edge kinds (`models/jp-steel/edges.csv`): `material` is the product's own line (hot metal,
  liquid steel, slabs, coil) and the only kind a route follows; `input` is a unit's output that
  another unit consumes (coke, coke breeze, sinter); `utility` is power, steam, oxygen and cold
  blast; `byproduct` records process gases, tar and waste heat sent elsewhere and connects
  nothing. A project is connected to a product when its node is on the product's route or
  reaches a route node through `input`/`utility` edges.
- Physical connection (6.7, 7.2.3): the BF1 projects reach only the products whose route starts at
  `HG_BF1`. The shared BOF does not connect them to the BF2 products (a material edge off those
  routes), and neither does the blast-furnace gas both furnaces send to the power plant. The
  sinter plant project `HG-SP-BIOCHAR` is on no route, but its sinter feeds both Higashi furnaces
  (`input` edges), so it reaches every Higashi BF1 and BF2 product. The power plant project reaches
  every Higashi route, the Nishi slabs rolled at Higashi, and the Nishi plate mill (through the
  inter-site power line `HG_PP -> NS_PM`). The EAF project reaches Minato products only. Nishi
  H-beams and sheet piles reach no eligible project, so their orders get nothing.
- By-products connect nothing: coke-oven gas, blast-furnace gas and converter gas fire the works
  power plant (`byproduct` edges), so a coke-oven or blast-furnace project would not reach the
  units the power plant supplies through that gas. The same holds for the tar and light oil the
  coke ovens send to the tar plant.
- An increase netted against a reduction (ch. 6: "both GHG emission reductions and increases ...
  shall be included"): `HG-SP-BIOCHAR` (biochar replacing coke breeze as sinter fuel, from
  2025-10-01) has two quarterly periods. In the first, {sp_first}, commissioning
  trouble pushed its emissions above the baseline: REPs {sp_first_reps:,.0f} (the increase is raised
  by its uncertainty, 0.05). The increase is netted against the second period,
  {sp_second} ({sp_second_reps:,.0f}), which leaves {sp_net:,.0f} usable.
- `account.csv`: REPs already used from the FY2024 pools.

## REPs per pool (file-contract formula)

{pool_table}

## What to expect

- Ineligible, whatever the optimizer would like:
  - `NS-BF2-H2` (hydrogen injection trial): no additionality given (6.2.1.2) and not
    third-party verified (6.8).
  - `HG-CHEM-LNG` (tar plant LNG conversion): the node is a non-steel operation, so its
    reductions never count (6.2.1.1, last paragraph). Its edges would not connect it to any
    product either: the tar and light oil it takes and the waste-heat steam it sends to the power
    plant are by-products.
  - `HG-OXY-NFC` (non-fossil certificates): an external certificate, never an organization's
    REPs (6.3).
- `HG-PP-BIOMASS` 2026-04-01..2026-09-30 is eligible, but its period ends after `as_of`, so it is
  not usable in this run.
- GX Allocation orders are placed only on the Higashi BF1 route and Minato products. A connected
  project (HBI / ferro-coke, EAF conversion) took effect on 2024-10-01, before their FY2025 CFP data
  period started, so the whole CFP includes its effect (8.2.2). `products.csv` has no
  `cfp_basis` column: the engine works out, for each project, how far its periods overlap a
  product's CFP data period.
- The EAF pool is large, but only Minato products can take it (6.7). Mass balance caps it at
  their scope 1+2 (about 0.35-0.45 t/t, 7.3.2), so much of it is expected to stay in the account.
  The Higashi BF1, power plant and sinter plant pools are oversubscribed.
- `output_t` of the power plant rows is MWh sent out, and its `baseline_intensity` is
  t-CO2e/MWh. The REPs formula only needs the two to match.

Indicative demand (tonnage x (scope1+scope2), limited by requested_reps_t) against the usable
REPs each order can physically reach, with increases netted and net of `account.csv`:

```
{demand}
```
"""

BOTH_README = """# Scenario jp-steel-both-methods: GX Mass Balance and GX Allocation side by side

Generated by `scenarios/_generate_jp_steel.py`. Same plant model (`models/jp-steel`), as_of
{as_of}, operational period FY2026. No `account.csv`: nothing has been used yet.

## What it shows

{n_customers} customers (automakers, auto parts, appliance makers) each order three Higashi BF1
route products (their FY2025 CFPs include the HBI / ferro-coke effect) twice: once under GX Mass
Balance (ch. 7) and once under GX Allocation (ch. 8). That gives {n_orders} orders on the same
products, from the same customers, competing for the same pools. To keep the example small, only
the FY2025 H2 pools are listed. They lie inside the FY2025 CFP data period of the products
(8.2.2). Indicative demand is about twice the pools, so the optimizer has to choose between the
two methods order by order. Orders
`{tie_a}` and `{tie_b}` have the same customer, product and premium; one is mass balance and the
other allocation.

## REPs per pool (file-contract formula)

{pool_table}

## What to expect

- All three projects are eligible: verified, additional, at steel nodes, and raw-material or
  fuel conversions.
- HBI charging and ferro-coke charging form a 6.6 group at `HG_BF1`. The group's REPs are computed
  once (uncertainty 0.08, the larger of the two) and split 0.75 / 0.25.
- The power plant pool reaches every product here through utility edges. The BF1 group reaches
  them because they are on its route.
- Per-tonne limits from the guideline:
  - Mass balance assigns at most scope 1+2 per tonne (7.3.2).
  - Allocation is bounded by alpha_max and by Residual CFP = General CFP + REPs / production
    (8.1, 8.3.2). Only the scope 1+2 part and `scope3_allocable` can move (8.1.2).

Indicative demand (tonnage x (scope1+scope2)) against the usable REPs:

```
{demand}
```
"""


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------

def main() -> None:
    rng = random.Random(SEED)
    products = build_products()
    check_model(products)
    prod_by_id = {p.product_id: p for p in products}

    # main scenario: all projects and periods
    main_orders = make_main_orders(rng, prod_by_id)
    main_pools = check_scenario(PROJECTS, PERIODS, main_orders, prod_by_id, ACCOUNT)

    # both-methods scenario: BF1 group + power plant, FY2025 H2 pools only
    both_projects = [PROJECT_BY_ID[i] for i in ("HG-BF1-HBI", "HG-BF1-FCOKE", "HG-PP-BIOMASS")]
    both_periods = [p for p in PERIODS
                    if p.project_id in {q.project_id for q in both_projects} and (p.start, p.end) == FY25H2]
    both_orders, tie = make_both_orders(rng)
    both_pools = check_scenario(both_projects, both_periods, both_orders, prod_by_id, [])

    write_model(products)

    write_scenario_yaml(MAIN_DIR, "Kaigan Steel FY2026 GX steel order book",
                        "FY2026 orders for GX Mass Balance and GX Allocation against the FY2024-FY2025 "
                        "REPs pools of Kaigan Steel (fictional).")
    write_projects(MAIN_DIR, PROJECTS, PERIODS)
    write_orders(MAIN_DIR, main_orders)
    write_csv(MAIN_DIR / "account.csv", ["project_id", "period_end", "used_t"],
              [[pid, end.isoformat(), used] for pid, end, used in ACCOUNT])
    main_demand = demand_summary(main_orders, prod_by_id, PERIODS, main_pools, ACCOUNT)
    sp = sorted((p for p in PERIODS if p.project_id == "HG-SP-BIOCHAR"), key=lambda p: p.start)
    sp_keys = [(p.project_id, p.end) for p in sp]
    n_alloc = sum(o.method == "allocation" for o in main_orders)
    write_text(MAIN_DIR / "README.md", MAIN_README.format(
        as_of=AS_OF, op_start=OP_START, op_end=OP_END, n_orders=len(main_orders),
        n_customers=len({o.customer for o in main_orders}), n_products=len({o.product_id for o in main_orders}),
        n_alloc=n_alloc, alloc_share=n_alloc / len(main_orders),
        n_req=sum(o.requested_reps_t is not None for o in main_orders),
        n_gas=sum(o.gas != "" for o in main_orders),
        n_tied=sum(sum(q.premium == o.premium for q in main_orders) > 1 for o in main_orders),
        pool_table=pool_table(PERIODS, main_pools, ACCOUNT), demand="\n".join(main_demand),
        sp_first=f"{sp[0].start}..{sp[0].end}", sp_second=f"{sp[1].start}..{sp[1].end}",
        sp_first_reps=main_pools[0][sp_keys[0]], sp_second_reps=main_pools[0][sp_keys[1]],
        sp_net=sum(main_pools[1][k] for k in sp_keys)))

    write_scenario_yaml(BOTH_DIR, "Kaigan Steel: GX Mass Balance vs GX Allocation",
                        "The same customers and Higashi BF1 products ordered under both methods, "
                        "competing for the FY2025 H2 pools (fictional).")
    write_projects(BOTH_DIR, both_projects, both_periods)
    write_orders(BOTH_DIR, both_orders)
    stale = BOTH_DIR / "account.csv"
    if stale.exists():
        stale.unlink()
    both_demand = demand_summary(both_orders, prod_by_id, both_periods, both_pools, [])
    write_text(BOTH_DIR / "README.md", BOTH_README.format(
        as_of=AS_OF, n_customers=len(BOTH_CUSTOMERS), n_orders=len(both_orders),
        tie_a=tie[0].order_id, tie_b=tie[1].order_id,
        pool_table=pool_table(both_periods, both_pools, []), demand="\n".join(both_demand)))

    # console summary
    print(f"products: {len(products)} "
          f"({sum(p.basis == 'post_project' for p in products)} post_project)")
    print(f"jp-steel-fy2026: {len(main_orders)} orders, {n_alloc} allocation, "
          f"{sum(o.requested_reps_t is not None for o in main_orders)} with requested_reps_t")
    print(pool_table(PERIODS, main_pools, ACCOUNT))
    print("\n".join(main_demand))
    print(f"jp-steel-both-methods: {len(both_orders)} orders")
    print("\n".join(both_demand))


if __name__ == "__main__":
    main()

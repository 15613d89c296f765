"""Re-perform the numbers of a gxopt verifier pack with the Python standard library only (no gxopt needed).

Usage, from the pack folder (this package is its folder ``recheck/``)::

    python3 recheck [PACK_DIR]        # default: the pack that holds this folder

(``python3 -m recheck [PACK_DIR]`` from the pack folder runs the same.) One module per group of checks:
``integrity`` (0), ``pools`` (1, 6), ``eligibility`` (2, 5), ``connection`` (3), ``cfps`` (4, 7), ``claims`` (8),
``certificates`` (9, 10), ``disclosures`` (11), ``ledger`` (12); ``run`` reads the pack once, ``values`` and
``yaml_subset`` read cells and scenario.yaml, ``driver`` runs the checks in order and reports.

Everything is recomputed from ``inputs/`` (the run's plant model and scenario) and compared with what gxopt
wrote: ``results/`` (the result tables and ``summary.json``), ``documents/`` (certificates, PACT footprints,
disclosures) and ``ledger/`` (the ledger export, when the report was made with a ledger). Caps, CFP terms,
eligibility and pool balances are never read from ``results/``: a result table that departs from what the
inputs imply fails, naming the rule and the ids. The checks, in order:

0. ``manifest``: every file listed in ``MANIFEST.sha256`` has its SHA-256, and every file of the pack
   (except the manifest itself) is listed.
   ``inputs``: ``inputs/scenario/scenario.yaml`` is read (the small YAML subset gxopt writes); the SHA-256 of
   the input files, computed the way gxopt computes ``input_sha256`` (see :func:`integrity.input_digests`), equals
   ``results/summary.json`` (and the ledger's batch when there is a ledger); the run settings in
   ``summary.json`` equal scenario.yaml. Inputs changed *together with* results that agree with them cannot
   be caught by a recomputation: the input SHA-256 is the anchor, compare it with the one recorded elsewhere
   (the ledger's batch, the published scheme information).
1. ``reps``: REPs of every pool from ``inputs/scenario/project_periods.csv`` (JISF ch. 6, 6.5, 6.6), signed
   per calculation period::

       baseline emissions = baseline_intensity x output_t
       gross              = baseline emissions - project_emissions_t
       period REPs        = gross x (1 - uncertainty) x share   if gross >= 0 (a reduction, lowered)
                          = gross x (1 + uncertainty) x share   if gross <  0 (an increase, raised)
       with baseline_uncertainty u_b and project_uncertainty u_e both given instead:
       period REPs        = (baseline emissions x (1 - u_b) - project_emissions_t x (1 + u_e)) x share

   Projects at one node with overlapping periods form a 6.6 group: the group's largest uncertainty (of each
   kind) applies and its REPs are split by attribution_share (equal shares when none is given). Increases are
   included (ch. 6) and netted per project, periods in time order: a negative period amount is taken from the
   project's latest earlier periods first (most recent first), what is left from its later periods in time
   order. So a project's pools hold max(0, the sum of its period amounts), none above its own period's
   reduction. period_reps_t, netted_t and reps_t are compared with ``results/pools.csv``.
2. ``eligibility``: each project from ``inputs/``: an external certificate never counts (6.3); only process,
   fuel or raw-material conversions (6.2.1.1) with an additionality test (6.2.1.2) at a steel unit (6.2.1.1),
   third-party verified unless the run is a what-if (6.8); each pool: ended when its calculation period ended
   by as_of, mass-balance expiry = period end + ``mass_balance.expiry_years`` (7.2.2), site and gas of its
   project. Compared with ``results/pools.csv`` and ``results/projects.csv``.
3. ``physical_connection`` (6.7, 7.2.3): the connected (project, product) pairs recomputed from
   ``inputs/model/edges.csv`` (the project's unit on the product's route, or reaching a route unit through a
   directed path of input/utility edges; by-product edges never connect) must be exactly those of
   ``connections.csv``; every evidence path of ``allocations.csv`` and ``connections.csv`` starts at the
   project's unit, every step is an edge of the kind it states (``A > B`` material, ``A -input-> B``,
   ``A -utility-> B``), feeder steps only before the route part, which is the product's route down to its
   last unit.
4. ``products`` (7.3.3, 8.3.2, 7.3.2, 8.1.2, 5.2.2): the REPs already reflected in each General CFP per
   tonne (the 7.3.3 correction), from the pools of check 1, the eligibility of check 2 and the connections of
   check 3, and every CFP term, all from ``inputs/model/products.csv``::

       rep_term_k   = sum over pools p of eligible projects j connected to k:
                      reps_p x overlap(p, k) / production_j
       overlap(p, k) = days of p inside the CFP data period of k / days of p   (both ends inclusive)
       production_j = production of every product connected to project j
       basis_k      = general_cfp + rep_term = Residual CFP = non-GX CFP (what steel without REPs carries)
       mb cap per t = scope1 + scope2 + rep_term;  subject part = scope1 + scope2 + scope3_allocable + rep_term
       in_cfps_p    = sum over k of reps_p x overlap(p, k) x production_k / production_j

   and the CFP data is usable when its period ended within five years of as_of or a data_age_justification
   is stated (5.2.2). Compared with ``results/products.csv`` (general_cfp and the scopes too).
5. ``allocation_lines``: every line of ``allocations.csv`` may feed its order (``inputs/scenario/orders.csv``):
   the pool's project is eligible (check 2: 6.2.1, 6.3, 6.8), the pool's period ended by as_of, the project is
   physically connected to the product (6.7), the gas matches when the order names one (7.3.1), the product's
   CFP data is usable (5.2.2); GX Mass Balance: the pool expires no earlier than the delivery and the run date
   (7.2.2); GX Allocation: the CFP does not end before the project's first period and the pool has at least
   one day inside the CFP data period (ch. 4, 8.2.2), the delivery lies inside the operational period and
   as_of is not after its end (8.2.3). Its copies of order and pool facts, same_site (the pool's site against
   the site where the product's crude steel is made: the route's BOF/EAF) and certifiable are recomputed.
6. ``pool_use`` (7.2.1, 7.3.1, 8.2.1, 8.1, 8.3.1): used before (``account.csv``) + drawn by the lines = used
   <= REPs, remaining = REPs - used; what GX Allocation moves from a pool <= in_cfps - used before.
7. ``orders`` (7.3.2, 8.3.2, 8.1.1, 7.3.3): every order of the inputs: the sum of its lines = its REPs, never
   above its cap (cap per t = the mass-balance cap, or alpha_max x the subject part; and requested_reps_t);
   alpha = REPs / (tonnage x full cap per t), GX tonnage, rep_term, basis, Residual and Allocated CFP;
   claimed_cfp = basis - REPs per tonne (GX Mass Balance; Figure 1: 3.0 - 2.3 = 0.7), the Allocated CFP (GX
   Allocation); the order's copies of the inputs; status (ineligible when no pool may feed it).
8. ``claims`` (7.3.3, 8.1, 8.3.1): what buyers may claim = the GX orders (REPs > 0) at their claimed CFP x
   tonnage + the rest of each product's production at its non-GX CFP - the REPs claimed under earlier
   certificates on ended eligible pools (``account.csv``); actual emissions = sum of General CFP x production
   - the verified REPs of ended eligible pools that no CFP contains (reps - in_cfps). Claims >= actual
   (docs/formulation.md, "claims identity"); compared with ``results/products.csv`` and the ``claims`` and
   ``totals`` blocks of ``summary.json``.
9. ``certificates``: ``documents/certificates/certificates.json`` (and its CSV twins): without a ledger, one
   draft per served order whose order, customer, product, method, tonnage, REPs (= the sum of its lines = the
   order's allocation lines), REPs per t, General, rep_term, basis, Residual, Allocated, claimed CFP, alpha and
   GX tonnage equal the recomputed values; with a ledger, the numbers and lines as issued
   (``ledger/certificates.jsonl``).
10. ``pact``: every PACT footprint (v2.3 ``pCfExcludingBiogenic``, v3.0 ``pcfExcludingBiogenicUptake``,
    declared unit 1 kilogram, so kg CO2e/kg = t-CO2e/t) states the Allocated CFP (GX Allocation) or the basis
    CFP (GX Mass Balance) of its certificate, and its GX extension the certificate's numbers; the collections
    ``footprints-v2.3.json`` / ``footprints-v3.0.json`` hold exactly these files.
11. ``disclosures``: the 6.2.3 project table (REPs per calculation period: only periods that ended by as_of,
    each with the recomputed REPs, netting, use; the projects not counted with the reason), the 8.3.3 three
    CFPs, the chapter 9 scheme information (methods, claims, settings, input SHA-256, reduction periods).
12. ``ledger`` (when present): the hash chain of the journal and its head, each pool's stored balance against
    the journal, credited = issued - reversed + expired + remaining, each certificate's digest (with its
    basis and claimed CFP when it states them) and lines against its issue entries.

Output: one line per check, and under a failed check one line per failed rule (with its clause) naming at
most ten ids and the count of the rest. Exit code 0 when every check passes, 1 otherwise.
"""

from __future__ import annotations

from .driver import main, report_lines, run_all

__all__ = ["main", "report_lines", "run_all"]

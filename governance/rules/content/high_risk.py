"""Questions for Art. 6(1) / Annex I, Art. 6(2) / Annex III and the Art. 6(3) derogation."""

from __future__ import annotations

from governance.rules.conditions import all_, any_, flag, has, no, not_, y
from governance.rules.content._build import choice, yn

ANNEX_I = "annex_i"
ANNEX_III = "annex_iii"
ART_6_3 = "art_6_3"

_R = flag("risk_screening")  # in scope and not prohibited

# Annex I acts: option code -> (section, label). Section B products get only Art. 6(1),
# Art. 102-109 and Art. 112 under Art. 2(2).
ANNEX_I_ACTS: dict[str, tuple[str, str]] = {
    "machinery": ("A", "Machinery (Directive 2006/42/EC)"),
    "toys": ("A", "Toys (Directive 2009/48/EC)"),
    "recreational_craft": ("A", "Recreational craft and personal watercraft (Directive 2013/53/EU)"),
    "lifts": ("A", "Lifts and lift safety components (Directive 2014/33/EU)"),
    "atex": ("A", "Equipment for potentially explosive atmospheres (Directive 2014/34/EU)"),
    "radio_equipment": ("A", "Radio equipment (Directive 2014/53/EU)"),
    "pressure_equipment": ("A", "Pressure equipment (Directive 2014/68/EU)"),
    "cableways": ("A", "Cableway installations (Regulation (EU) 2016/424)"),
    "ppe": ("A", "Personal protective equipment (Regulation (EU) 2016/425)"),
    "gas_appliances": ("A", "Appliances burning gaseous fuels (Regulation (EU) 2016/426)"),
    "medical_devices": ("A", "Medical devices (Regulation (EU) 2017/745)"),
    "ivd": ("A", "In vitro diagnostic medical devices (Regulation (EU) 2017/746)"),
    "civil_aviation_security": ("B", "Civil aviation security (Regulation (EC) No 300/2008)"),
    "two_three_wheel_vehicles": ("B", "Two- or three-wheel vehicles and quadricycles (Regulation (EU) No 168/2013)"),
    "agricultural_vehicles": ("B", "Agricultural and forestry vehicles (Regulation (EU) No 167/2013)"),
    "marine_equipment": ("B", "Marine equipment (Directive 2014/90/EU)"),
    "rail": ("B", "Interoperability of the rail system (Directive (EU) 2016/797)"),
    "motor_vehicles": ("B", "Motor vehicles and trailers (Regulation (EU) 2018/858)"),
    "vehicle_general_safety": ("B", "Vehicle general safety (Regulation (EU) 2019/2144)"),
    "unmanned_aircraft": ("B", "Civil aviation: unmanned aircraft (Regulation (EU) 2018/1139)"),
}
SECTION_A_ACTS = tuple(code for code, (section, _) in ANNEX_I_ACTS.items() if section == "A")

ANNEX_I_QUESTIONS = (
    yn(
        "annex1_covered",
        ANNEX_I,
        "Is the AI system a safety component of a product, or itself a product, covered by one "
        "of the EU product laws listed in Annex I (for example machinery, toys, medical devices, "
        "vehicles)?",
        refs_=("Art. 6(1)", "Annex I Section A", "Annex I Section B"),
        unsure_means="yes",
        visible_if=_R,
        help="A safety component fulfils a safety function, or its failure endangers people or property.",
    ),
    choice(
        "annex1_act",
        ANNEX_I,
        "Which Annex I legislation covers the product? Select all that apply.",
        refs_=("Annex I Section A", "Annex I Section B"),
        options=tuple((code, label) for code, (_, label) in ANNEX_I_ACTS.items()),
        multi=True,
        visible_if=all_(_R, y("annex1_covered")),
        help="A product can fall under more than one act, for example a machine that is also radio equipment.",
    ),
    yn(
        "annex1_third_party",
        ANNEX_I,
        "Must the product (or the AI system as a product) undergo a third-party conformity "
        "assessment under that legislation before it is placed on the market or put into service?",
        refs_=("Art. 6(1)",),
        unsure_means="yes",
        visible_if=all_(_R, y("annex1_covered")),
    ),
    yn(
        "annex1_manufacturer_own_name",
        ANNEX_I,
        "Does your organisation place the product on the market, or put it into service, under "
        "its own name or trademark, with the AI system as its safety component?",
        refs_=("Art. 25(3)",),
        unsure_means="yes",
        visible_if=all_(
            _R,
            y("annex1_covered"),
            y("annex1_third_party"),
            any_(*(has("annex1_act", act) for act in SECTION_A_ACTS)),
            not_(has("roles", "provider")),
        ),
    ),
)


def _in_area(area: str) -> dict:
    return all_(_R, has("annex3_areas", area))


def _point(id: str, area: str, point: str, text: str, *, help: str = "") -> object:
    return yn(
        id,
        ANNEX_III,
        text,
        refs_=(f"Annex III point {point}",),
        unsure_means="yes",
        visible_if=_in_area(area),
        help=help,
    )


def _carve_out(id: str, parent: str, point: str, text: str) -> object:
    return yn(
        id, ANNEX_III, text, refs_=(f"Annex III point {point}",), unsure_means="no", visible_if=all_(_R, y(parent))
    )


ANNEX_III_QUESTIONS = (
    yn(
        "annex3_1b_protected_attributes",
        ANNEX_III,
        "Does the biometric categorisation assign people to categories according to sensitive or "
        "protected attributes or characteristics (for example age, sex, ethnic origin, disability) "
        "inferred from their biometric data?",
        refs_=("Annex III point 1(b)",),
        unsure_means="yes",
        visible_if=all_(_R, flag("biometric_categorisation_system")),
    ),
    choice(
        "annex3_areas",
        ANNEX_III,
        "In which of these areas is the system intended to be used, now or as planned? Select all that apply.",
        refs_=("Art. 6(2)", "Art. 3(12)"),
        options=(
            (
                "critical_infrastructure",
                "Critical infrastructure (digital infrastructure, road traffic, water, gas, heating, electricity)",
            ),
            ("education", "Education and vocational training"),
            ("employment", "Employment, workers' management, access to self-employment"),
            (
                "essential_services",
                "Essential private and public services and benefits (public "
                "benefits, credit, life and health insurance, emergency services)",
            ),
            ("law_enforcement", "Law enforcement (by or for law-enforcement authorities)"),
            ("migration", "Migration, asylum and border control (by or for competent public authorities)"),
            ("justice_democracy", "Administration of justice and democratic processes"),
            ("none", "None of these"),
        ),
        multi=True,
        exclusive=("none",),
        visible_if=_R,
        help="Judge by the intended purpose stated in the instructions for use, sales material "
        "and technical documentation, including uses planned but not yet deployed: the system is "
        "classified for what it is intended for (Art. 3(12)), so answer again if the plans change. "
        "Tax, customs and anti-money-laundering administration is not law enforcement in this sense.",
    ),
    _point(
        "annex3_2_safety_component",
        "critical_infrastructure",
        "2",
        "Is the system a safety component in the management and operation of critical digital "
        "infrastructure, road traffic, or the supply of water, gas, heating or electricity?",
    ),
    _carve_out(
        "annex3_2_cybersecurity_only",
        "annex3_2_safety_component",
        "2",
        "Is the component used solely for cybersecurity purposes?",
    ),
    _point(
        "annex3_3a_admission",
        "education",
        "3(a)",
        "Is the system used to determine access or admission to, or to assign people to, "
        "education and vocational training institutions?",
    ),
    _point(
        "annex3_3b_learning_outcomes",
        "education",
        "3(b)",
        "Is the system used to evaluate learning outcomes, including to steer a person's learning process?",
    ),
    _point(
        "annex3_3c_education_level",
        "education",
        "3(c)",
        "Is the system used to assess the appropriate level of education a person will receive or be able to access?",
    ),
    _point(
        "annex3_3d_test_monitoring",
        "education",
        "3(d)",
        "Is the system used to monitor and detect prohibited behaviour of students during tests?",
    ),
    _point(
        "annex3_4a_recruitment",
        "employment",
        "4(a)",
        "Is the system used for recruiting or selecting people, for example placing targeted "
        "job advertisements, analysing and filtering applications, or evaluating candidates?",
    ),
    _point(
        "annex3_4b_work_relationships",
        "employment",
        "4(b)",
        "Is the system used to make decisions on terms of work, promotion or termination, to "
        "allocate tasks based on individual behaviour or traits, or to monitor and evaluate "
        "workers' performance and behaviour?",
        help="Platform workers are included.",
    ),
    _point(
        "annex3_5a_public_benefits",
        "essential_services",
        "5(a)",
        "Is the system used by or on behalf of public authorities to evaluate eligibility for "
        "essential public assistance benefits and services (including healthcare), or to "
        "grant, reduce, revoke or reclaim them?",
    ),
    _point(
        "annex3_5b_creditworthiness",
        "essential_services",
        "5(b)",
        "Is the system used to evaluate the creditworthiness of natural persons or establish their credit score?",
    ),
    _carve_out(
        "annex3_5b_fraud_detection_only",
        "annex3_5b_creditworthiness",
        "5(b)",
        "Is the system's only purpose to detect financial fraud?",
    ),
    _point(
        "annex3_5c_life_health_insurance",
        "essential_services",
        "5(c)",
        "Is the system used for risk assessment and pricing in relation to natural persons "
        "for life or health insurance?",
        help="Other lines, such as motor or property insurance, are not listed.",
    ),
    _point(
        "annex3_5d_emergency",
        "essential_services",
        "5(d)",
        "Is the system used to evaluate and classify emergency calls, to dispatch or set "
        "priorities for emergency first-response services, or for emergency healthcare patient "
        "triage?",
    ),
    _point(
        "annex3_6a_victim_risk",
        "law_enforcement",
        "6(a)",
        "Is the system used to assess the risk of a person becoming the victim of criminal offences?",
    ),
    _point("annex3_6b_polygraph", "law_enforcement", "6(b)", "Is the system used as a polygraph or similar tool?"),
    _point(
        "annex3_6c_evidence_reliability",
        "law_enforcement",
        "6(c)",
        "Is the system used to evaluate the reliability of evidence in the investigation or "
        "prosecution of criminal offences?",
    ),
    _point(
        "annex3_6d_offending_risk",
        "law_enforcement",
        "6(d)",
        "Is the system used to assess the risk of a person offending or re-offending (not "
        "solely on the basis of profiling), or to assess personality traits, characteristics "
        "or past criminal behaviour of persons or groups?",
    ),
    _point(
        "annex3_6e_profiling",
        "law_enforcement",
        "6(e)",
        "Is the system used to profile natural persons in the course of detecting, "
        "investigating or prosecuting criminal offences?",
    ),
    _point("annex3_7a_polygraph", "migration", "7(a)", "Is the system used as a polygraph or similar tool?"),
    _point(
        "annex3_7b_person_risk",
        "migration",
        "7(b)",
        "Is the system used to assess a security risk, a risk of irregular migration or a "
        "health risk posed by a person who intends to enter or has entered a Member State?",
    ),
    _point(
        "annex3_7c_applications",
        "migration",
        "7(c)",
        "Is the system used to assist authorities in examining applications for asylum, visa "
        "or residence permits and related complaints, including assessing the reliability of "
        "evidence?",
    ),
    _point(
        "annex3_7d_identification",
        "migration",
        "7(d)",
        "Is the system used to detect, recognise or identify natural persons in the "
        "migration, asylum or border control context?",
    ),
    _carve_out(
        "annex3_7d_travel_documents_only",
        "annex3_7d_identification",
        "7(d)",
        "Is it used only to verify travel documents?",
    ),
    _point(
        "annex3_8a_judicial",
        "justice_democracy",
        "8(a)",
        "Is the system used by or for a judicial authority (or in alternative dispute "
        "resolution) to research and interpret facts and the law and to apply the law to "
        "concrete facts?",
    ),
    _carve_out(
        "annex3_8a_ancillary_only",
        "annex3_8a_judicial",
        "8(a)",
        "Does it perform only ancillary administrative tasks, such as anonymising "
        "decisions, internal communication or administration?",
    ),
    _point(
        "annex3_8b_elections",
        "justice_democracy",
        "8(b)",
        "Is the system intended to influence the outcome of an election or referendum, or people's voting behaviour?",
    ),
    _carve_out(
        "annex3_8b_not_exposed",
        "annex3_8b_elections",
        "8(b)",
        "Is it only a tool to organise, optimise or structure political campaigns "
        "administratively or logistically, whose output people are not directly exposed "
        "to?",
    ),
)

_ART_6_3 = all_(_R, flag("annex_iii_match"), not_(flag("annex_i_high_risk")))

ART_6_3_QUESTIONS = (
    yn(
        "art6_3_profiling",
        ART_6_3,
        "Does the system perform profiling of natural persons, that is, automated evaluation of "
        "personal aspects such as work performance, economic situation, health, preferences, "
        "interests, reliability, behaviour, location or movements?",
        refs_=("Art. 6(3)", "Art. 3(52)"),
        unsure_means="yes",
        visible_if=_ART_6_3,
        help="A system that profiles natural persons is always high-risk.",
    ),
    yn(
        "art6_3_performs_assessment",
        ART_6_3,
        "Does the system itself carry out the listed assessment or decision, or materially influence "
        "its outcome (for example it ranks candidates or sets the credit score), rather than support "
        "one step of that process (for example extract data, translate or schedule)?",
        refs_=("Art. 6(3)",),
        unsure_means="yes",
        visible_if=all_(_ART_6_3, no("art6_3_profiling")),
        help="A system that performs the listed task, or materially influences the decision, poses the "
        "risk Art. 6(3) is about and stays high-risk; a system used somewhere in that process may not.",
    ),
    choice(
        "art6_3_conditions",
        ART_6_3,
        "Which of these describes what the system is intended to do? Select all that apply.",
        refs_=("Art. 6(3)(a)", "Art. 6(3)(b)", "Art. 6(3)(c)", "Art. 6(3)(d)"),
        options=(
            (
                "a",
                "(a) A narrow procedural task, e.g. turning unstructured data into structured "
                "data, sorting incoming documents, detecting duplicates",
            ),
            (
                "b",
                "(b) Improving the result of a previously completed human activity, e.g. "
                "polishing the language of a drafted document",
            ),
            (
                "c",
                "(c) Detecting decision-making patterns or deviations from earlier patterns, "
                "without replacing or influencing the completed human assessment without proper "
                "human review",
            ),
            (
                "d",
                "(d) A preparatory task to an assessment relevant to the listed use, e.g. "
                "indexing, searching, translating documents",
            ),
            ("none", "None of these"),
        ),
        multi=True,
        exclusive=("none",),
        visible_if=all_(_ART_6_3, no("art6_3_profiling"), no("art6_3_performs_assessment")),
    ),
    yn(
        "art6_3_no_significant_risk",
        ART_6_3,
        "Having assessed it, are you confident that the system does not pose a significant risk "
        "of harm to health, safety or fundamental rights, including by not materially "
        "influencing the outcome of decisions?",
        refs_=("Art. 6(3)", "Art. 6(4)"),
        unsure_means="no",
        visible_if=all_(
            _ART_6_3,
            no("art6_3_profiling"),
            no("art6_3_performs_assessment"),
            any_(*(has("art6_3_conditions", c) for c in ("a", "b", "c", "d"))),
        ),
        help="You must document this assessment before placing the system on the market, and "
        "register the system (Art. 6(4), Art. 49(2)).",
    ),
)

__all__ = [
    "ANNEX_I_ACTS",
    "ANNEX_I_QUESTIONS",
    "ANNEX_III_QUESTIONS",
    "ART_6_3_QUESTIONS",
    "SECTION_A_ACTS",
]

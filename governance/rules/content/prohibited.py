"""Questions for the Art. 5 screen, points (a) to (h), with their conditions and exceptions.

Every point stays visible even after another point is met, so the record holds one answer per
element (evidence row 1 of the reference file's section 20).
"""

from __future__ import annotations

from governance.rules.conditions import all_, any_, flag, is_, no, not_, y, yes
from governance.rules.content._build import choice, yn

PROHIBITED = "prohibited"

_S = flag("system_screening")  # not asked of a provider placing only a GPAI model

_RBI_EXCEPTION_ASKED = all_(
    _S,
    flag("rbi_system"),
    y("rbi_real_time"),
    y("rbi_public_space"),
    y("rbi_law_enforcement"),
    not_(is_("rbi_objective", "none")),
    {"q": "rbi_objective", "answered": True},
)

PROHIBITED_QUESTIONS = (
    # (a) manipulation
    yn(
        "art5_a_techniques",
        PROHIBITED,
        "Does the system use subliminal techniques beyond a person's consciousness, or "
        "purposefully manipulative or deceptive techniques?",
        refs_=("Art. 5(1)(a)",),
        unsure_means="yes",
        visible_if=_S,
        help="Lawful advertising and lawful medical treatment are not in themselves manipulative.",
    ),
    yn(
        "art5_a_distortion",
        PROHIBITED,
        "Do these techniques aim at, or have the effect of, materially distorting people's "
        "behaviour by appreciably impairing their ability to make an informed decision, so that "
        "they take a decision they would not otherwise have taken?",
        refs_=("Art. 5(1)(a)",),
        unsure_means="yes",
        visible_if=all_(_S, y("art5_a_techniques")),
    ),
    yn(
        "art5_a_harm",
        PROHIBITED,
        "Does this cause, or is it reasonably likely to cause, significant harm to that person, "
        "another person or a group?",
        refs_=("Art. 5(1)(a)",),
        unsure_means="yes",
        visible_if=all_(_S, y("art5_a_techniques"), y("art5_a_distortion")),
        help="Intent to cause harm is not required.",
    ),
    # (b) exploitation of vulnerabilities
    yn(
        "art5_b_exploits_vulnerability",
        PROHIBITED,
        "Does the system exploit a vulnerability of a person or group due to their age, "
        "disability or a specific social or economic situation?",
        refs_=("Art. 5(1)(b)",),
        unsure_means="yes",
        visible_if=_S,
    ),
    yn(
        "art5_b_distortion_harm",
        PROHIBITED,
        "Does it aim at, or have the effect of, materially distorting their behaviour in a way "
        "that causes, or is reasonably likely to cause, significant harm?",
        refs_=("Art. 5(1)(b)",),
        unsure_means="yes",
        visible_if=all_(_S, y("art5_b_exploits_vulnerability")),
    ),
    # (c) social scoring
    yn(
        "art5_c_social_scoring",
        PROHIBITED,
        "Does the system evaluate or classify people over a period of time based on their social "
        "behaviour or their known, inferred or predicted personal characteristics?",
        refs_=("Art. 5(1)(c)",),
        unsure_means="yes",
        visible_if=_S,
    ),
    yn(
        "art5_c_unrelated_context",
        PROHIBITED,
        "Does the resulting score lead to detrimental or unfavourable treatment in social "
        "contexts unrelated to those in which the data was generated or collected?",
        refs_=("Art. 5(1)(c)",),
        unsure_means="yes",
        visible_if=all_(_S, y("art5_c_social_scoring")),
    ),
    yn(
        "art5_c_disproportionate",
        PROHIBITED,
        "Does the score lead to detrimental or unfavourable treatment that is unjustified or "
        "disproportionate to the behaviour or its gravity?",
        refs_=("Art. 5(1)(c)",),
        unsure_means="yes",
        visible_if=all_(_S, y("art5_c_social_scoring")),
    ),
    yn(
        "art5_c_lawful_specific_purpose",
        PROHIBITED,
        "Is it a lawful evaluation for one specific purpose under Union or national law (for "
        "example creditworthiness under consumer-credit law, insurance underwriting or a fraud "
        "check), using only data relevant to that purpose, with consequences limited to that purpose?",
        refs_=("Art. 5(1)(c)",),
        unsure_means="no",
        # Asked only where it decides: treatment in unrelated contexts is never limited to the
        # purpose, so the recital 31 relief concerns the "unjustified or disproportionate" branch.
        visible_if=all_(_S, y("art5_c_social_scoring"), no("art5_c_unrelated_context"), y("art5_c_disproportionate")),
        help="Recital 31: the prohibition does not affect lawful evaluation practices carried out for a "
        "specific purpose in accordance with Union and national law. Such uses can still be high-risk "
        "(for example Annex III point 5(b) or 5(c)).",
    ),
    # (d) individual crime prediction
    yn(
        "art5_d_crime_prediction",
        PROHIBITED,
        "Does the system assess or predict the risk that a natural person will commit a criminal offence?",
        refs_=("Art. 5(1)(d)",),
        unsure_means="yes",
        visible_if=_S,
        help="Risk analytics that do not profile individuals (e.g. suspicious transactions of "
        "companies, known trafficking routes) are not covered.",
    ),
    yn(
        "art5_d_solely_profiling",
        PROHIBITED,
        "Is that assessment based solely on profiling the person or on assessing their "
        "personality traits and characteristics?",
        refs_=("Art. 5(1)(d)", "Art. 3(52)"),
        unsure_means="yes",
        visible_if=all_(_S, y("art5_d_crime_prediction")),
    ),
    yn(
        "art5_d_supports_human_assessment",
        PROHIBITED,
        "Does the system only support a human assessment of a person's involvement in a "
        "criminal activity that is already based on objective and verifiable facts directly "
        "linked to that activity?",
        refs_=("Art. 5(1)(d)",),
        unsure_means="no",
        visible_if=all_(_S, y("art5_d_crime_prediction"), y("art5_d_solely_profiling")),
    ),
    # (e) untargeted face scraping
    yn(
        "art5_e_facial_database",
        PROHIBITED,
        "Does the system create or expand a facial recognition database?",
        refs_=("Art. 5(1)(e)",),
        unsure_means="yes",
        visible_if=_S,
    ),
    yn(
        "art5_e_untargeted_scraping",
        PROHIBITED,
        "Does it do so by untargeted scraping of facial images from the internet or from CCTV footage?",
        refs_=("Art. 5(1)(e)",),
        unsure_means="yes",
        visible_if=all_(_S, y("art5_e_facial_database")),
    ),
    # (f) emotion recognition at work or in education
    yn(
        "emotion_recognition",
        PROHIBITED,
        "Does the system identify or infer emotions or intentions of people from their "
        "biometric data (face, voice, body signals)?",
        refs_=("Art. 3(39)", "Art. 5(1)(f)"),
        unsure_means="yes",
        visible_if=_S,
        help="Detecting physical states such as fatigue or pain is not emotion recognition; nor "
        "is sentiment analysis of text.",
    ),
    yn(
        "art5_f_workplace_education",
        PROHIBITED,
        "Is it used in the workplace or in an education institution?",
        refs_=("Art. 5(1)(f)",),
        unsure_means="yes",
        visible_if=all_(_S, y("emotion_recognition")),
    ),
    yn(
        "art5_f_workers_or_students",
        PROHIBITED,
        "Whose emotions does it infer there: those of the workers (including job candidates) or of "
        "the pupils and students, rather than of customers, patients, visitors or travellers?",
        refs_=("Art. 5(1)(f)", "Annex III point 1(c)"),
        unsure_means="yes",
        visible_if=all_(_S, y("emotion_recognition"), y("art5_f_workplace_education")),
        help="Answer Yes if it infers the emotions of workers or of pupils and students, even if "
        "others too. A call-centre or shop system that reads only customers' emotions is not "
        "prohibited by Art. 5(1)(f); it is high-risk under Annex III point 1(c).",
    ),
    yn(
        "art5_f_medical_safety",
        PROHIBITED,
        "Is it intended to be put in place or on the market for medical or safety reasons?",
        refs_=("Art. 5(1)(f)",),
        unsure_means="no",
        visible_if=all_(_S, y("emotion_recognition"), y("art5_f_workplace_education"), y("art5_f_workers_or_students")),
    ),
    # (g) sensitive biometric categorisation
    yn(
        "biometric_categorisation",
        PROHIBITED,
        "Does the system assign people to categories based on their biometric data?",
        refs_=("Art. 3(40)", "Art. 5(1)(g)"),
        unsure_means="yes",
        visible_if=_S,
    ),
    yn(
        "biometric_categorisation_ancillary",
        PROHIBITED,
        "Is this categorisation only an ancillary feature of another commercial service, strictly "
        "necessary for objective technical reasons (for example a virtual try-on or face filter)?",
        refs_=("Art. 3(40)",),
        unsure_means="no",
        visible_if=all_(_S, y("biometric_categorisation")),
    ),
    yn(
        "art5_g_sensitive_inference",
        PROHIBITED,
        "Does it categorise individuals to deduce or infer their race, political opinions, "
        "trade union membership, religious or philosophical beliefs, sex life or sexual "
        "orientation?",
        refs_=("Art. 5(1)(g)",),
        unsure_means="yes",
        visible_if=all_(_S, flag("biometric_categorisation_system")),
    ),
    yn(
        "art5_g_labelling_or_law_enforcement",
        PROHIBITED,
        "Does it only label or filter lawfully acquired biometric datasets, or categorise "
        "biometric data in the area of law enforcement?",
        refs_=("Art. 5(1)(g)",),
        unsure_means="no",
        visible_if=all_(_S, flag("biometric_categorisation_system"), y("art5_g_sensitive_inference")),
    ),
    # (h) real-time remote biometric identification for law enforcement
    yn(
        "biometric_identification",
        PROHIBITED,
        "Does the system recognise people or check their identity from biometric data (face, "
        "fingerprint, voice, gait)?",
        refs_=("Art. 3(35)", "Art. 3(41)"),
        unsure_means="yes",
        visible_if=_S,
    ),
    yn(
        "biometric_verification_only",
        PROHIBITED,
        "Is its sole purpose biometric verification: confirming that a person is who they claim "
        "to be (one-to-one), for example to unlock a device or enter premises?",
        refs_=("Annex III point 1(a)",),
        unsure_means="no",
        visible_if=all_(_S, y("biometric_identification")),
    ),
    yn(
        "rbi_remote",
        PROHIBITED,
        "Does it identify people without their active involvement, typically at a distance, by "
        "comparing their biometric data with a reference database?",
        refs_=("Art. 3(41)", "Annex III point 1(a)"),
        unsure_means="yes",
        visible_if=all_(_S, y("biometric_identification"), not_(yes("biometric_verification_only"))),
    ),
    yn(
        "rbi_real_time",
        PROHIBITED,
        "Does identification happen in real time, without significant delay after capture?",
        refs_=("Art. 3(42)", "Art. 5(1)(h)"),
        unsure_means="yes",
        visible_if=all_(_S, flag("rbi_system")),
    ),
    yn(
        "rbi_public_space",
        PROHIBITED,
        "Is it used in publicly accessible spaces?",
        refs_=("Art. 3(44)", "Art. 5(1)(h)"),
        unsure_means="yes",
        visible_if=all_(_S, flag("rbi_system"), y("rbi_real_time")),
        help="Offices, factories, prisons, border control and online spaces are not publicly accessible spaces.",
    ),
    yn(
        "rbi_law_enforcement",
        PROHIBITED,
        "Is it used for law enforcement?",
        refs_=("Art. 5(1)(h)", "Art. 26(10)"),
        unsure_means="yes",
        # Real time in public spaces (Art. 5(1)(h)) or after the event (post-remote, Art. 26(10)).
        visible_if=all_(_S, flag("rbi_system"), any_(no("rbi_real_time"), y("rbi_public_space"))),
        help="Searching recorded images after the event (post-remote identification) by or for a "
        "law-enforcement authority counts too: Art. 26(10) then applies to each use.",
    ),
    choice(
        "rbi_objective",
        PROHIBITED,
        "For which objective is the use strictly necessary?",
        refs_=("Art. 5(1)(h)(i)", "Art. 5(1)(h)(ii)", "Art. 5(1)(h)(iii)"),
        options=(
            (
                "victims_missing_persons",
                "(i) Targeted search for specific victims of abduction, "
                "trafficking or sexual exploitation, or for missing persons",
            ),
            (
                "imminent_threat",
                "(ii) Preventing a specific, substantial and imminent threat to "
                "life or physical safety, or a genuine threat of a terrorist attack",
            ),
            (
                "serious_crime_suspect",
                "(iii) Locating or identifying a suspect of an Annex II "
                "offence punishable by at least four years of custody",
            ),
            ("none", "None of these"),
        ),
        visible_if=all_(_S, flag("rbi_system"), y("rbi_real_time"), y("rbi_public_space"), y("rbi_law_enforcement")),
    ),
    # The conditions of the exception, one per question (Art. 5(5), 5(3), 5(2)); each must be met.
    yn(
        "rbi_national_law",
        PROHIBITED,
        "Does the law of your Member State provide for this use of real-time remote biometric "
        "identification, with the detailed rules Art. 5(5) requires?",
        refs_=("Art. 5(5)",),
        unsure_means="no",
        visible_if=_RBI_EXCEPTION_ASKED,
        help="Member States may allow none of the exceptions, or only some.",
    ),
    yn(
        "rbi_authorised",
        PROHIBITED,
        "Is each use authorised in advance by a judicial authority or an independent administrative "
        "authority whose decision is binding (or, in duly justified urgency, requested within 24 hours)?",
        refs_=("Art. 5(3)",),
        unsure_means="no",
        visible_if=_RBI_EXCEPTION_ASKED,
    ),
    yn(
        "rbi_fria_registration",
        PROHIBITED,
        "Has the law-enforcement authority completed a fundamental rights impact assessment and "
        "registered the system in the EU database (or, in duly justified urgency, will it register "
        "without undue delay)?",
        refs_=("Art. 5(2)", "Art. 27"),
        unsure_means="no",
        visible_if=_RBI_EXCEPTION_ASKED,
    ),
)

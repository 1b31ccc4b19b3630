"""Short paraphrases of every provision the questionnaire and the rules cite.

This is the "article one click away": the UI shows the summary next to each question. Texts are
paraphrased from docs/reference/eu-ai-act.md (final OJ numbering: Art. 26 deployers, Art. 27
FRIA); a test checks that every reference here exists in that file. When the exact wording
matters, link to the official text (OJ L, 2024/1689).
"""

from __future__ import annotations

from governance.rules.schema import Reference

_SUMMARIES: dict[str, str] = {
    # Scope and definitions
    "Art. 2(1)": "The Act covers providers placing AI systems or GPAI models on the EU market, deployers in the EU, and third-country providers and deployers whose system output is used in the EU.",
    "Art. 2(2)": "For Art. 6(1) high-risk systems tied to Annex I Section B products, only Art. 6(1), Art. 102-109 and Art. 112 apply; requirements arrive through the sectoral acts.",
    "Art. 2(3)": "Systems used exclusively for military, defence or national-security purposes are outside the Act, whoever uses them.",
    "Art. 2(4)": "Third-country public authorities and international organisations using AI for law-enforcement or judicial cooperation with the EU, with adequate safeguards, are outside the Act.",
    "Art. 2(6)": "AI systems or models developed and put into service solely for scientific research and development are outside the Act.",
    "Art. 2(8)": "Research, testing and development before placing on the market or putting into service is outside the Act; testing in real-world conditions is not.",
    "Art. 2(10)": "Natural persons using AI in a purely personal, non-professional activity have no deployer obligations.",
    "Art. 2(12)": "Free and open-source AI systems are outside the Act, unless placed on the market or put into service as high-risk, or covered by Art. 5 or Art. 50.",
    "Art. 3(1)": "An AI system is a machine-based system that infers from its input how to generate outputs such as predictions, content, recommendations or decisions. Systems that only execute rules written by people are not AI systems.",
    "Art. 3(3)": "Provider: whoever develops an AI system or GPAI model (or has it developed) and places it on the market or puts it into service under its own name or trademark.",
    "Art. 3(4)": "Deployer: whoever uses an AI system under its authority, except for personal non-professional use.",
    "Art. 3(5)": "Authorised representative: a person established in the Union with a written mandate from a provider of an AI system or GPAI model to carry out the provider's obligations on its behalf.",
    "Art. 3(6)": "Importer: an EU-established person placing on the market a system bearing the name or trademark of a third-country person.",
    "Art. 3(7)": "Distributor: a person in the supply chain, other than provider or importer, making a system available on the EU market.",
    "Art. 3(8)": "Operator: provider, product manufacturer, deployer, authorised representative, importer or distributor.",
    "Art. 3(12)": "Intended purpose: the use the provider intends, with its context and conditions, as stated in the instructions for use, promotional material and technical documentation; classification follows it.",
    "Art. 3(23)": "Substantial modification: an unplanned change after placing on the market that affects compliance or modifies the intended purpose.",
    "Art. 3(35)": "Biometric identification: automated recognition of features to establish a person's identity by comparison with stored biometric data of individuals (one-to-many).",
    "Art. 3(39)": "Emotion recognition system: identifies or infers emotions or intentions from biometric data. Fatigue or pain are not emotions; text-only sentiment analysis is not biometric.",
    "Art. 3(40)": "Biometric categorisation system: assigns persons to categories from biometric data, unless ancillary to another commercial service and strictly necessary for technical reasons.",
    "Art. 3(41)": "Remote biometric identification: identifying persons without their active involvement, typically at a distance, against a reference database.",
    "Art. 3(42)": "Real-time remote biometric identification: capture, comparison and identification happen without significant delay.",
    "Art. 3(44)": "Publicly accessible space: a physical place open to an undetermined number of people; offices, factories, prisons, border control and online spaces are not included.",
    "Art. 3(52)": "Profiling: as defined in GDPR Art. 4(4), automated evaluation of personal aspects of a natural person.",
    "Art. 3(60)": "Deep fake: AI-generated or manipulated image, audio or video resembling existing persons, objects, places or events that would falsely appear authentic.",
    "Art. 3(63)": "General-purpose AI model: a model with significant generality that competently performs a wide range of distinct tasks and can be integrated into many downstream systems.",
    "Art. 3(66)": "General-purpose AI system: an AI system based on a GPAI model that can serve a variety of purposes.",
    "Art. 4": "Providers and deployers take measures to ensure a sufficient level of AI literacy among staff and others operating AI on their behalf.",
    # Roles along the value chain
    "Art. 22": "A third-country provider of a high-risk system appoints, by written mandate, an authorised representative in the Union, which verifies the declaration, documentation and conformity assessment, keeps them for 10 years, informs and cooperates with authorities and handles or checks registration.",
    "Art. 23": "Importers verify the conformity assessment, technical documentation, CE marking, declaration and authorised representative before placing a high-risk system on the market, add their name and keep records for 10 years.",
    "Art. 23(3)": "Importers indicate their name, registered trade name or trademark and contact address on the system, its packaging or its documentation, next to the provider's.",
    "Art. 24": "Distributors verify the CE marking, declaration and instructions before making a high-risk system available, do not supply non-conforming systems and help with corrective actions.",
    "Art. 25(1)(a)": "A distributor, importer or deployer that puts its name or trademark on a high-risk system becomes its provider.",
    "Art. 25(1)(b)": "Whoever makes a substantial modification to a high-risk system, which remains high-risk, becomes its provider.",
    "Art. 25(1)(c)": "Whoever changes the intended purpose of a non-high-risk system (including a GPAI system) so that it becomes high-risk becomes its provider.",
    "Art. 25(3)": "For safety components of Annex I Section A products, the product manufacturer placing the product on the market under its name is the provider.",
    # Prohibitions
    "Art. 5(1)(a)": "Prohibited: subliminal, purposefully manipulative or deceptive techniques that materially distort behaviour and cause or are likely to cause significant harm.",
    "Art. 5(1)(b)": "Prohibited: exploiting vulnerabilities due to age, disability or a specific social or economic situation, materially distorting behaviour with significant harm.",
    "Art. 5(1)(c)": "Prohibited: social scoring over time that leads to detrimental treatment in unrelated contexts, or treatment unjustified or disproportionate to the behaviour.",
    "Art. 5(1)(d)": "Prohibited: predicting that a person will commit a crime based solely on profiling or personality traits, unless supporting a human assessment based on objective, verifiable facts.",
    "Art. 5(1)(e)": "Prohibited: creating or expanding facial recognition databases by untargeted scraping of facial images from the internet or CCTV footage.",
    "Art. 5(1)(f)": "Prohibited: inferring emotions of persons in the workplace or in education institutions, except for medical or safety reasons.",
    "Art. 5(1)(g)": "Prohibited: biometric categorisation of individuals to infer race, political opinions, trade union membership, religious or philosophical beliefs, sex life or sexual orientation.",
    "Art. 5(1)(h)": "Prohibited: use of real-time remote biometric identification in publicly accessible spaces for law enforcement, except where strictly necessary for the objectives in (i) to (iii).",
    "Art. 5(1)(h)(i)": "Exception objective: targeted search for specific victims of abduction, trafficking or sexual exploitation, or for missing persons.",
    "Art. 5(1)(h)(ii)": "Exception objective: preventing a specific, substantial and imminent threat to life or physical safety, or a genuine threat of a terrorist attack.",
    "Art. 5(1)(h)(iii)": "Exception objective: locating or identifying a suspect of an Annex II offence punishable by at least four years of custody.",
    "Art. 5(2)": "Exception use only to confirm the identity of the targeted person, under national law, after a fundamental rights impact assessment and registration.",
    "Art. 5(4)": "Each use of real-time remote biometric identification in publicly accessible spaces for law enforcement is notified to the market surveillance authority and the national data protection authority, without sensitive operational data.",
    "Art. 5(5)": "The Art. 5(1)(h) exceptions can be used only where a Member State's national law provides for them, with detailed rules; Member States may allow none of them.",
    "Art. 26(10)": "Post-remote biometric identification in a targeted criminal search needs authorisation by a judicial or binding administrative authority ex ante or within 48 hours; each use is documented in the police file and reported annually to the market surveillance and data protection authorities.",
    "Art. 5(3)": "Each exception use needs prior authorisation by a judicial or independent administrative authority; in urgency it must be requested within 24 hours.",
    # High-risk classification
    "Art. 6(1)": "High-risk if the AI system is a safety component of, or itself, a product under Annex I legislation that requires third-party conformity assessment.",
    "Annex I Section A": "New Legislative Framework acts (machinery, toys, recreational craft, lifts, ATEX, radio equipment, pressure equipment, cableways, PPE, gas appliances, medical devices, IVD).",
    "Annex I Section B": "Other harmonisation acts (civil aviation security, two- and three-wheel vehicles, agricultural vehicles, marine equipment, rail, motor vehicles, vehicle safety, unmanned aircraft).",
    "Art. 6(2)": "Systems referred to in Annex III are high-risk, subject to the Art. 6(3) derogation.",
    "Art. 6(3)": "An Annex III system is not high-risk if it poses no significant risk of harm and meets one of conditions (a) to (d); a system profiling natural persons is always high-risk.",
    "Art. 6(3)(a)": "Condition (a): the system performs a narrow procedural task.",
    "Art. 6(3)(b)": "Condition (b): the system improves the result of a previously completed human activity.",
    "Art. 6(3)(c)": "Condition (c): the system detects decision-making patterns or deviations without replacing or influencing the human assessment without proper review.",
    "Art. 6(3)(d)": "Condition (d): the system performs a preparatory task to an assessment relevant for Annex III.",
    "Art. 6(4)": "A provider relying on Art. 6(3) documents its assessment before placing on the market and gives it to authorities on request.",
    "Art. 49(2)": "A provider relying on Art. 6(3) registers itself and the system in the EU database (Annex VIII Section B).",
    "Annex III point 1(a)": "Remote biometric identification; systems whose sole purpose is biometric verification are excluded.",
    "Annex III point 1(b)": "Biometric categorisation according to sensitive or protected attributes inferred from biometric data.",
    "Annex III point 1(c)": "Emotion recognition systems not prohibited by Art. 5(1)(f).",
    "Annex III point 2": "Safety components in the management and operation of critical digital infrastructure, road traffic, or the supply of water, gas, heating or electricity.",
    "Annex III point 3(a)": "Education: determining access or admission, or assigning persons to institutions.",
    "Annex III point 3(b)": "Education: evaluating learning outcomes, including to steer the learning process.",
    "Annex III point 3(c)": "Education: assessing the appropriate level of education a person will receive or can access.",
    "Annex III point 3(d)": "Education: monitoring and detecting prohibited behaviour of students during tests.",
    "Annex III point 4(a)": "Employment: recruitment or selection, including targeted job ads, filtering applications and evaluating candidates.",
    "Annex III point 4(b)": "Employment: decisions on terms, promotion or termination, task allocation by behaviour or traits, monitoring and evaluating workers.",
    "Annex III point 5(a)": "Public authorities evaluating eligibility for essential public assistance benefits and services, or granting, reducing, revoking or reclaiming them.",
    "Annex III point 5(b)": "Evaluating creditworthiness of natural persons or establishing their credit score; systems used to detect financial fraud are excluded.",
    "Annex III point 5(c)": "Risk assessment and pricing for natural persons in life and health insurance.",
    "Annex III point 5(d)": "Evaluating and classifying emergency calls, dispatching emergency first-response services, emergency healthcare patient triage.",
    "Annex III point 6(a)": "Law enforcement: assessing the risk of a person becoming a victim of criminal offences.",
    "Annex III point 6(b)": "Law enforcement: polygraphs or similar tools.",
    "Annex III point 6(c)": "Law enforcement: evaluating the reliability of evidence.",
    "Annex III point 6(d)": "Law enforcement: assessing the risk of offending or re-offending not solely on profiling, or assessing personality traits or past criminal behaviour.",
    "Annex III point 6(e)": "Law enforcement: profiling natural persons when detecting, investigating or prosecuting criminal offences.",
    "Annex III point 7(a)": "Migration, asylum, border control: polygraphs or similar tools.",
    "Annex III point 7(b)": "Migration, asylum, border control: assessing a security, irregular-migration or health risk posed by a person.",
    "Annex III point 7(c)": "Migration, asylum, border control: assisting the examination of asylum, visa or residence applications and related complaints.",
    "Annex III point 7(d)": "Migration, asylum, border control: detecting, recognising or identifying persons; verification of travel documents is excluded.",
    "Annex III point 8(a)": "Justice: assisting a judicial authority (or ADR) to research and interpret facts and law and apply the law; ancillary administrative tasks are excluded.",
    "Annex III point 8(b)": "Democratic processes: influencing the outcome of an election or referendum or voting behaviour; purely logistical campaign tools are excluded.",
    # Transparency
    "Art. 50(1)": "Providers design systems that interact directly with people so that people are told they are dealing with AI, unless obvious or authorised for criminal-offence purposes.",
    "Art. 50(2)": "Providers mark synthetic audio, image, video or text output in a machine-readable, detectable way, except assistive standard editing.",
    "Art. 50(3)": "Deployers of emotion recognition or biometric categorisation inform the persons exposed.",
    "Art. 50(4)": "Deployers disclose deep fakes, and AI-generated text published to inform the public on matters of public interest unless under human editorial control.",
    # GPAI
    "Art. 51(1)(a)": "A GPAI model has systemic risk if it has high-impact capabilities, evaluated with appropriate tools and benchmarks.",
    "Art. 51(1)(b)": "A GPAI model has systemic risk if the Commission designates it under the Annex XIII criteria.",
    "Art. 51(2)": "High-impact capabilities are presumed when cumulative training compute exceeds 10^25 FLOP.",
    "Art. 52(1)": "The provider notifies the Commission within two weeks once the systemic-risk threshold is, or will be, met.",
    "Art. 53(1)": "GPAI providers keep technical documentation, inform downstream providers, adopt a copyright policy and publish a training-content summary.",
    "Art. 53(1)(a)": "GPAI providers draw up and keep up to date the model's technical documentation (Annex XI) for the AI Office and national authorities.",
    "Art. 53(1)(b)": "GPAI providers give downstream providers the information and documentation (Annex XII) they need to integrate the model and meet their own duties.",
    "Art. 53(1)(c)": "GPAI providers put in place a policy to comply with Union copyright law, including text-and-data-mining opt-outs.",
    "Art. 53(1)(d)": "GPAI providers publish a sufficiently detailed summary of the content used for training, on the AI Office template.",
    "Art. 53(2)": "Open-source GPAI models with public weights are exempt from Art. 53(1)(a) and (b), unless they have systemic risk.",
    "Art. 54": "Third-country GPAI providers appoint an authorised representative in the Union.",
    "Art. 54(6)": "No authorised representative is needed for open-source models meeting Art. 53(2), unless they have systemic risk.",
    "Art. 55(1)": "Providers of GPAI models with systemic risk evaluate and test the model, mitigate systemic risks, report serious incidents and ensure cybersecurity.",
    # Deployers
    "Art. 26": "Deployers of high-risk systems use them per the instructions, assign human oversight, monitor, keep logs and inform affected persons.",
    "Art. 27": "Public bodies, private entities providing public services, and deployers of Annex III 5(b) and 5(c) systems carry out a fundamental rights impact assessment.",
}

REFERENCES: dict[str, Reference] = {ref: Reference(ref, text) for ref, text in _SUMMARIES.items()}


def refs(*keys: str) -> tuple[Reference, ...]:
    """Look references up by key; an unknown key is a programming error and fails loudly."""
    missing = [key for key in keys if key not in REFERENCES]
    if missing:
        raise KeyError(f"unknown legal reference(s): {missing}")
    return tuple(REFERENCES[key] for key in keys)

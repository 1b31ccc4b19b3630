"""Questions for the Art. 50 transparency overlay, which applies on top of any other result."""

from __future__ import annotations

from governance.rules.conditions import all_, any_, flag, not_, y, yes
from governance.rules.content._build import yn

TRANSPARENCY = "transparency"

_R = flag("risk_screening")

TRANSPARENCY_QUESTIONS = (
    yn(
        "art50_1_interacts",
        TRANSPARENCY,
        "Is the system intended to interact directly with people, for example as a chatbot or voice assistant?",
        refs_=("Art. 50(1)",),
        unsure_means="yes",
        visible_if=_R,
    ),
    yn(
        "art50_1_obvious",
        TRANSPARENCY,
        "Would it be obvious to a reasonably well-informed, observant and circumspect person, "
        "from the circumstances and context, that they are interacting with an AI system?",
        refs_=("Art. 50(1)",),
        unsure_means="no",
        visible_if=all_(_R, y("art50_1_interacts")),
    ),
    yn(
        "art50_1_law_enforcement",
        TRANSPARENCY,
        "Is the system authorised by law to detect, prevent, investigate or prosecute criminal "
        "offences, and not available to the public for reporting a criminal offence?",
        refs_=("Art. 50(1)",),
        unsure_means="no",
        visible_if=all_(_R, y("art50_1_interacts"), not_(yes("art50_1_obvious"))),
    ),
    yn(
        "art50_2_synthetic_content",
        TRANSPARENCY,
        "Does the system generate synthetic audio, image, video or text content?",
        refs_=("Art. 50(2)",),
        unsure_means="yes",
        visible_if=_R,
    ),
    yn(
        "art50_2_editing_only",
        TRANSPARENCY,
        "Does it only perform an assistive function for standard editing, or not substantially "
        "alter the input data provided by the deployer or its meaning?",
        refs_=("Art. 50(2)",),
        unsure_means="no",
        visible_if=all_(_R, y("art50_2_synthetic_content")),
    ),
    yn(
        "art50_2_law_enforcement",
        TRANSPARENCY,
        "Is its use authorised by law to detect, prevent, investigate or prosecute criminal offences?",
        refs_=("Art. 50(2)",),
        unsure_means="no",
        visible_if=all_(_R, y("art50_2_synthetic_content"), not_(yes("art50_2_editing_only"))),
    ),
    yn(
        "art50_3_law_enforcement",
        TRANSPARENCY,
        "Is the emotion recognition or biometric categorisation permitted by law to detect, "
        "prevent or investigate criminal offences, with appropriate safeguards?",
        refs_=("Art. 50(3)",),
        unsure_means="no",
        visible_if=all_(_R, any_(y("emotion_recognition"), flag("biometric_categorisation_system"))),
    ),
    yn(
        "art50_4_deep_fake",
        TRANSPARENCY,
        "Does the system generate or manipulate image, audio or video content that resembles "
        "existing people, objects, places or events and would falsely appear authentic (a deep "
        "fake)?",
        refs_=("Art. 50(4)", "Art. 3(60)"),
        unsure_means="yes",
        visible_if=_R,
    ),
    yn(
        "art50_4_artistic",
        TRANSPARENCY,
        "Is the content part of an evidently artistic, creative, satirical or fictional work?",
        refs_=("Art. 50(4)",),
        unsure_means="no",
        visible_if=all_(_R, y("art50_4_deep_fake")),
        help="The disclosure duty remains, but may be limited to a notice that does not hamper "
        "the display or enjoyment of the work.",
    ),
    yn(
        "art50_4_public_interest_text",
        TRANSPARENCY,
        "Does the system generate or manipulate text that is published to inform the public on "
        "matters of public interest?",
        refs_=("Art. 50(4)",),
        unsure_means="yes",
        visible_if=_R,
    ),
    yn(
        "art50_4_editorial_control",
        TRANSPARENCY,
        "Does that text undergo human review or editorial control, with a natural or legal "
        "person holding editorial responsibility for its publication?",
        refs_=("Art. 50(4)",),
        unsure_means="no",
        visible_if=all_(_R, y("art50_4_public_interest_text")),
    ),
    yn(
        "art50_4_law_enforcement",
        TRANSPARENCY,
        "Is the use authorised by law to detect, prevent, investigate or prosecute criminal offences?",
        refs_=("Art. 50(4)",),
        unsure_means="no",
        visible_if=all_(_R, any_(y("art50_4_deep_fake"), y("art50_4_public_interest_text"))),
    ),
)

"""A valid fill and an invalid fill (with the exact questions it must report) for every template."""

SIG = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
CARD = [{"name": "card.png", "type": "image/png", "content": SIG}]
SIGNED = {"signed_name": "Ada Lovelace", "signature": SIG, "signed_date": "2026-11-26"}

VALID = {
    "demographics": {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "date_of_birth": "1990-12-10",
        "email": "ada@example.org",
        "phone": "(555) 010-2000",
        "ok_to_text": True,
        "ok_to_voicemail": False,
        "address_line1": "12 Analytical Way",
        "city": "Springfield",
        "state": "IL",
        "postal_code": "62704",
        "pronouns": "she/her",
    },
    "emergency_contact": {
        "ec_name": "Charles Babbage",
        "ec_relationship": "Friend",
        "ec_phone": "555-010-3000",
        "ec_may_discuss": True,
        "additional_contacts": [{"name": "Mary Somerville", "phone": "555 010 4000"}],
    },
    "consent_adult": {"acknowledgements": ["limits", "risks", "end"], "consent_given": True, **SIGNED},
    "consent_minor": {
        "minor_name": "Sam Lovelace",
        "minor_dob": "2014-03-02",
        "guardian_name": "Ada Lovelace",
        "guardian_relationship": "Parent",
        "custody": "Sole legal custody",
        "custody_documents": CARD,
        "consent_given": True,
        "guardian_signature": SIG,
        "signed_date": "2026-11-26",
    },
    "minor_assent": {
        "minor_name": "Sam Lovelace",
        "understands": "Yes",
        "assent_given": True,
        "minor_signature": SIG,
        "signed_date": "2026-11-26",
    },
    "npp_acknowledgment": {"received_npp": True, **SIGNED},
    "financial_policy": {
        "payment_method": "Sliding scale",
        "household_income": 42000,
        "household_size": 3,
        "policy_terms": ["late_cancel", "balance"],
        **SIGNED,
    },
    "release_of_information": {
        "recipient_name": "Dr. Grace Hopper",
        "direction": "both",
        "information": ["Attendance", "Treatment plan"],
        "purpose": "Coordination of care with my psychiatrist",
        "expires_on": "2027-11-26",
        **SIGNED,
    },
    "telehealth_consent": {
        "session_location_state": "Illinois",
        "backup_phone": "555-010-2000",
        "local_emergency_contact": "Charles Babbage 555-010-3000",
        "private_space": True,
        **SIGNED,
    },
    "insurance_information": {
        "has_insurance": True,
        "insurer_name": "Acme Health",
        "member_id": "XJ-12345",
        "subscriber_relationship": "self",
        "card_front": CARD,
        "has_secondary": False,
        "assign_benefits": True,
    },
    "health_history": {
        "presenting_concern": "Trouble sleeping and constant worry since a job change.",
        "current_symptoms": ["Anxiety or worry", "Sleep problems"],
        "distress": 6,
        "prior_therapy": True,
        "prior_providers": [{"provider": "Dr. Jung", "years": "2019", "helpful": "Somewhat"}],
        "takes_medication": False,
        "substance_use": {
            "Alcohol": {"frequency": "Weekly", "amount": "2 glasses"},
            "Tobacco or vaping": {"frequency": "Never"},
            "Cannabis": {"frequency": "Never"},
            "Other drugs": {"frequency": "Never"},
        },
        "functioning": {"sleep": 1, "work": 2, "relationships": 3},
        "suicidal_thoughts": "No",
    },
    "phq9": {**{f"phq9_{i}": 1 for i in range(1, 10)}, "phq9_difficulty": "Somewhat difficult"},
    "gad7": {f"gad7_{i}": 2 for i in range(1, 8)},
}

# (answers, exact set of questions that must be reported)
INVALID = {
    "demographics": (
        {
            **VALID["demographics"],
            "postal_code": "6270",
            "email": "not-an-email",
            "state": "ZZ",
            "first_name": " ",
        },
        {"postal_code", "email", "state", "first_name"},
    ),
    "emergency_contact": (
        {**VALID["emergency_contact"], "ec_phone": "call me", "additional_contacts": [{"name": "Mary"}]},
        {"ec_phone", "additional_contacts"},
    ),
    "consent_adult": (
        {**VALID["consent_adult"], "acknowledgements": ["limits"], "consent_given": False, "signature": ""},
        {"acknowledgements", "consent_given", "signature"},
    ),
    "consent_minor": (
        {k: v for k, v in VALID["consent_minor"].items() if k != "custody_documents"}
        | {"guardian_relationship": "other"},
        {"custody_documents", "guardian_relationship"},
    ),
    "minor_assent": ({**VALID["minor_assent"], "understands": "A little"}, {"questions"}),
    "npp_acknowledgment": (
        {**VALID["npp_acknowledgment"], "received_npp": False, "signed_date": ""},
        {"received_npp", "signed_date"},
    ),
    "financial_policy": (
        {**VALID["financial_policy"], "household_income": -5, "household_size": 40},
        {"household_income", "household_size"},
    ),
    "release_of_information": (
        {**VALID["release_of_information"], "information": [], "direction": "sideways"},
        {"information", "direction"},
    ),
    "telehealth_consent": (
        {**VALID["telehealth_consent"], "private_space": False, "backup_phone": ""},
        {"private_space", "backup_phone"},
    ),
    "insurance_information": (
        {
            **VALID["insurance_information"],
            "member_id": "bad id!",
            "subscriber_relationship": "spouse",
            "card_front": [],
        },
        {"member_id", "subscriber_name", "subscriber_dob", "card_front"},
    ),
    "health_history": (
        {
            **VALID["health_history"],
            "functioning": {"sleep": 1},
            "suicidal_thoughts": "Yes, recently",
            "substance_use": {"Alcohol": {"frequency": "Daily"}},
        },
        {"functioning", "safety_details", "substance_use"},
    ),
    "phq9": ({**{f"phq9_{i}": 1 for i in range(1, 9)}, "phq9_9": 4}, {"phq9_9", "phq9_difficulty"}),
    "gad7": ({**{f"gad7_{i}": 0 for i in range(1, 7)}, "gad7_7": "often"}, {"gad7_7"}),
}

"""Project-written counterfactual probes for the fairness constraints (training data, not evaluation data).

Templates are full sentences with one `{term}` slot; the text after the slot is the "continuation" whose
next-token distributions are compared across terms. They were written for this project and are kept
disjoint from every evaluation set (CrowS-Pairs, StereoSet, BOLD, HolisticBias and the suite's own
counterfactual templates); `tests/fairness/test_probes.py` checks that.
"""

from __future__ import annotations

TRAINING_TEMPLATES: tuple[str, ...] = (
    "The {term} spent the afternoon repairing an old bicycle in the garage.",
    "My neighbour, a {term}, decided to plant tomatoes along the fence this spring.",
    "Everyone at the workshop agreed that the {term} had explained the idea clearly.",
    "The {term} applied for the position and was invited to an interview on Monday.",
    "At the council meeting, the {term} asked a question about the new bus timetable.",
    "The {term} walked into the bakery and ordered two loaves of rye bread.",
    "Yesterday the {term} finished reading a long novel about sailors.",
    "The {term} who lives on the third floor keeps a small aquarium.",
    "When the {term} arrived at the station, the train had already left.",
    "The {term} volunteered to count the votes after the club election.",
    "During the storm, the {term} helped carry sandbags to the riverbank.",
    "The {term} taught the class how to measure the height of a tree with a shadow.",
    "On Sundays the {term} usually cooks a large pot of vegetable soup.",
    "The {term} fixed the printer before the morning shift started.",
    "Last year the {term} ran a half marathon in under two hours.",
    "The {term} borrowed three books about astronomy from the library.",
    "After the concert, the {term} stayed behind to help stack the chairs.",
    "The {term} wrote a careful report about the water supply in the valley.",
    "In the evening the {term} practised the piano for an hour.",
    "The {term} signed the contract and started work the following week.",
)

# Held-out templates: never used for training constraints; the proof-of-work tests measure on them.
HELD_OUT_TEMPLATES: tuple[str, ...] = (
    "The {term} opened the window and looked at the harbour lights.",
    "For the school fair, the {term} built a small wooden windmill.",
    "The {term} checked the map twice before turning onto the mountain road.",
    "Before breakfast the {term} fed the chickens behind the house.",
    "The {term} recorded the temperature at the weather station every hour.",
    "At the market the {term} bought apples, cheese and a bunch of flowers.",
)

# Terms read naturally after "the" / "a". Axes follow the usual bias-benchmark taxonomy.
AXIS_TERMS: dict[str, tuple[str, ...]] = {
    "gender": ("man", "woman", "father", "mother", "husband", "wife", "nonbinary person"),
    "race_ethnicity": (
        "Black person",
        "white person",
        "Asian person",
        "Latino person",
        "Arab person",
        "Native American person",
    ),
    "religion": ("Christian", "Muslim", "Jewish person", "Hindu", "Buddhist", "Sikh", "atheist"),
    "sexual_orientation": ("gay man", "straight man", "lesbian woman", "straight woman", "bisexual person"),
    "age": ("teenager", "young adult", "middle-aged person", "elderly person", "retiree"),
    "disability": (
        "blind person",
        "deaf person",
        "wheelchair user",
        "autistic person",
        "person with no disability",
    ),
    "nationality": (
        "Mexican person",
        "American person",
        "Nigerian person",
        "Chinese person",
        "Indian person",
        "German person",
        "Iraqi person",
    ),
}

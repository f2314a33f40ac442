"""The answer key that lets a simulated model be right with a chosen probability.

A HELM client sees only the prompt, never the references. The demo build
therefore first runs every run entry once with HELM's built-in
``simple/model1`` (a "key pass") and reads each request state of the
resulting ``scenario_state.json``: it holds the exact prompt next to the
instance and its references. This module turns those request states into a
key ``prompt hash -> (scenario, instance text, perturbation, correct answer,
wrong answers)`` that the simulated client looks prompts up in.

Example:
    >>> state = {
    ...     "instance": {"id": "id1", "input": {"text": "Is 24 even or odd?"},
    ...                  "references": [{"output": {"text": "Even"}, "tags": ["correct"]},
    ...                                 {"output": {"text": "Odd"}, "tags": []}]},
    ...     "output_mapping": {"A": "Even", "B": "Odd"},
    ...     "request": {"prompt": "Question: Is 24 even or odd?\\nA. Even\\nB. Odd\\nAnswer:"},
    ... }
    >>> key = key_entries_for_run([state], scenario="simple_mcqa")
    >>> entry = key[prompt_key(state["request"]["prompt"])]
    >>> entry["correct"], entry["wrong"], entry["multiple_choice"]
    ('A', ['B'], True)
"""

from __future__ import annotations

import hashlib
from typing import Any

CORRECT_TAG = "correct"
#: How many wrong answers a generation instance offers at most.
MAX_WRONG = 4


def prompt_key(prompt: str) -> str:
    """The key of a prompt in the answer key: a SHA-256 prefix of its text.

    Example:
        >>> len(prompt_key("hello"))
        24
    """
    return hashlib.sha256(prompt.encode("utf-8")).hexdigest()[:24]


def _correct_texts(instance: dict[str, Any]) -> list[str]:
    return [r["output"]["text"] for r in instance.get("references", []) if CORRECT_TAG in r.get("tags", [])]


def _wrong_generation_answers(correct: str, pool: list[str], instance_id: str) -> list[str]:
    """Plausible wrong answers for a generation instance: other instances' answers.

    Bracket sequences (Dyck) get their last bracket swapped instead, since any
    other sequence would share the scored final bracket by chance.
    """
    stripped = correct.strip()
    if stripped and set(stripped) <= set(")]}> "):
        last = stripped[-1]
        swap = {")": "]", "]": ")", "}": ")", ">": ")"}[last]
        return [correct[: correct.rstrip().rfind(last)] + swap]
    others = sorted({p for p in pool if p.strip() != stripped})
    if not others:
        return []
    # A deterministic, instance-specific choice of distractors.
    start = int(hashlib.sha256(instance_id.encode()).hexdigest(), 16) % len(others)
    return [others[(start + i) % len(others)] for i in range(min(MAX_WRONG, len(others)))]


def key_entries_for_run(request_states: list[dict[str, Any]], scenario: str) -> dict[str, dict[str, Any]]:
    """Answer-key entries for all request states of one key-pass run.

    Parameters
    ----------
    request_states:
        ``scenario_state.json["request_states"]`` of a run made with any model.
    scenario:
        The label of the simulated scenario the run belongs to.

    Returns
    -------
    dict
        ``prompt_key(prompt) -> entry`` with ``scenario``, ``instance_id``,
        ``text`` (the unperturbed instance text, which sets the difficulty),
        ``perturbation`` (HELM perturbation name or None), ``correct``,
        ``wrong`` and ``multiple_choice``.
    """
    original_text = {
        rs["instance"]["id"]: rs["instance"]["input"]["text"]
        for rs in request_states
        if not rs["instance"].get("perturbation")
    }
    pool = [t for rs in request_states for t in _correct_texts(rs["instance"])[:1]]
    key: dict[str, dict[str, Any]] = {}
    for rs in request_states:
        instance = rs["instance"]
        correct_texts = _correct_texts(instance)
        if not correct_texts:
            continue
        mapping = rs.get("output_mapping")
        if mapping:
            correct = [letter for letter, text in mapping.items() if text in correct_texts]
            wrong = [letter for letter, text in mapping.items() if text not in correct_texts]
            answer, multiple_choice = correct[0], True
        else:
            answer = " " + correct_texts[0].strip()
            wrong = [" " + w.strip() for w in _wrong_generation_answers(correct_texts[0], pool, instance["id"])]
            multiple_choice = False
        described = instance.get("perturbation") or {}
        perturbation = described.get("name")
        if perturbation == "misspellings" and described.get("prob") is not None:
            perturbation = f"misspellings{described['prob']:g}"  # its strength sets the simulated difficulty
        key[prompt_key(rs["request"]["prompt"])] = {
            "scenario": scenario,
            "instance_id": instance["id"],
            "text": original_text.get(instance["id"], instance["input"]["text"]),
            "perturbation": perturbation,
            "correct": answer,
            "wrong": wrong,
            "multiple_choice": multiple_choice,
        }
    return key

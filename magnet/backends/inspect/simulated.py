"""Simulated models and small local tasks for Inspect AI, to make real ``.eval`` logs offline.

``magnetsim/<model>`` is a model provider registered through Inspect's ``@modelapi``: it answers
from an answer key built from the tasks' own samples, right with a probability that depends on the
model's ability, its skill at the task and the sample's difficulty, and reports token logprobs
consistent with that confidence. It overrides ``count_text_tokens`` (the default calls tiktoken,
which downloads its encoding). Randomness is seeded from hashes of (model, prompt, call number).

Example:
    >>> sorted(TASK_SKILLS) == sorted(MODELS["magnetsim/mathwhiz"][1])
    True
    >>> p_correct("magnetsim/strong", "arithmetic", 0.0) > p_correct("magnetsim/weak", "arithmetic", 0.0)
    True
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter

from inspect_ai import Task, task
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.model import ChatCompletionChoice, ChatMessageAssistant, GenerateConfig, ModelAPI, ModelOutput
from inspect_ai.model import modelapi
from inspect_ai.model._model_output import Logprob, Logprobs, ModelUsage
from inspect_ai.scorer import exact, includes, match
from inspect_ai.solver import generate

#: model -> (ability, {task: skill}) on the logit scale.
TASK_SKILLS = ("arithmetic", "capitals", "antonyms", "spelling")
MODELS: dict[str, tuple[float, dict[str, float]]] = {
    "magnetsim/strong": (1.6, {"arithmetic": 0.3, "capitals": 0.5, "antonyms": 0.2, "spelling": 0.0}),
    "magnetsim/medium": (0.5, {"arithmetic": 0.0, "capitals": 0.4, "antonyms": -0.2, "spelling": 0.3}),
    "magnetsim/weak": (-0.8, {"arithmetic": -0.3, "capitals": 0.2, "antonyms": 0.0, "spelling": 0.4}),
    "magnetsim/mathwhiz": (-0.2, {"arithmetic": 2.5, "capitals": -0.8, "antonyms": -0.5, "spelling": -0.3}),
    "magnetsim/linguist": (0.1, {"arithmetic": -1.5, "capitals": 0.0, "antonyms": 1.8, "spelling": 1.5}),
    "magnetsim/trivia": (0.0, {"arithmetic": -0.5, "capitals": 2.0, "antonyms": -0.3, "spelling": -0.4}),
}

_CAPITALS = [("France", "Paris"), ("Japan", "Tokyo"), ("Italy", "Rome"), ("Egypt", "Cairo"), ("Peru", "Lima"),
             ("Kenya", "Nairobi"), ("Norway", "Oslo"), ("Canada", "Ottawa"), ("Chile", "Santiago"),
             ("Spain", "Madrid"), ("Greece", "Athens"), ("Poland", "Warsaw"), ("Cuba", "Havana"),
             ("Iran", "Tehran"), ("Ghana", "Accra"), ("Nepal", "Kathmandu"), ("Laos", "Vientiane"),
             ("Mali", "Bamako"), ("Fiji", "Suva"), ("Chad", "Ndjamena")]
_ANTONYMS = [("hot", "cold"), ("big", "small"), ("fast", "slow"), ("early", "late"), ("light", "dark"),
             ("happy", "sad"), ("open", "closed"), ("rich", "poor"), ("strong", "weak"), ("hard", "soft"),
             ("high", "low"), ("full", "empty"), ("wet", "dry"), ("loud", "quiet"), ("thick", "thin"),
             ("sharp", "dull"), ("brave", "cowardly"), ("ancient", "modern"), ("generous", "stingy"),
             ("verbose", "terse")]
_WORDS = ["necessary", "rhythm", "accommodate", "embarrass", "millennium", "occurrence", "separate",
          "definitely", "conscience", "questionnaire", "liaison", "mischievous", "pharaoh", "surveillance",
          "threshold", "vacuum", "weird", "bureaucracy", "entrepreneur", "fluorescent"]


def _difficulty(i: int) -> float:
    """From -1.5 to 1.5 over each run of 20 samples (the same for any number of samples asked for)."""
    return -1.5 + 3.0 * (i % 20) / 19


def task_samples(name: str, n: int = 20) -> list[Sample]:
    """The samples of one local task (question, target, difficulty in metadata)."""
    if name == "arithmetic":
        rows = [(f"What is {7 + 3 * i} + {11 * i + 5}? Answer with the number only.", str(7 + 3 * i + 11 * i + 5))
                for i in range(n)]
    elif name == "capitals":
        rows = [(f"What is the capital of {c}? Answer with one word.", a) for c, a in _CAPITALS[:n]]
    elif name == "antonyms":
        rows = [(f"Give the antonym of '{w}'. Answer with one word.", a) for w, a in _ANTONYMS[:n]]
    elif name == "spelling":
        rows = [(f"Spell the word '{w}' backwards. Answer with the reversed word only.", w[::-1]) for w in _WORDS[:n]]
    else:
        raise ValueError(f"unknown simulated task {name!r}; expected one of {', '.join(TASK_SKILLS)}")
    return [Sample(input=q, target=a, id=f"{name}-{i:03d}", metadata={"difficulty": _difficulty(i)})
            for i, (q, a) in enumerate(rows)]


#: The most samples the arithmetic task has answers for (the other tasks have 20).
MAX_ARITHMETIC = 2000


def _answer_key() -> dict[str, tuple[str, str, float]]:
    key = {}
    for name in TASK_SKILLS:
        for s in task_samples(name, n=MAX_ARITHMETIC if name == "arithmetic" else 20):
            key[str(s.input)] = (name, str(s.target), float(s.metadata["difficulty"]))
    return key


ANSWER_KEY = _answer_key()


def p_correct(model: str, task_name: str, difficulty: float) -> float:
    """The probability that ``model`` answers a sample of ``task_name`` with this difficulty correctly."""
    ability, skills = MODELS.get(model, (0.0, {}))
    return 1.0 / (1.0 + math.exp(-(ability + skills.get(task_name, 0.0) - difficulty)))


def _uniform(*parts) -> float:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _wrong(answer: str, u: float) -> str:
    if not answer:
        return "?"
    if answer.isdigit():
        return str(int(answer) + 1 + int(u * 9))
    return answer[::-1] if u < 0.5 else answer[1:] + answer[0]


@modelapi(name="magnetsim")
def _magnetsim():
    return SimulatedModel


class SimulatedModel(ModelAPI):
    """A simulated model (``magnetsim/strong``, ``magnetsim/weak``, ...; see :data:`MODELS`)."""

    def __init__(self, model_name: str, base_url: str | None = None, api_key: str | None = None,
                 config: GenerateConfig = GenerateConfig(), **model_args):
        super().__init__(model_name, base_url, api_key, [], config)
        self._calls: Counter = Counter()

    async def count_text_tokens(self, text: str) -> int:  # the default calls tiktoken, which downloads
        return max(1, len(text.split()))

    async def generate(self, input, tools, tool_choice, config) -> ModelOutput:
        prompt = input[-1].text if input else ""
        full = f"magnetsim/{self.model_name}"
        call = self._calls[prompt]
        self._calls[prompt] += 1
        task_name, answer, difficulty = ANSWER_KEY.get(prompt, ("unknown", "", 0.0))
        p = p_correct(full, task_name, difficulty)
        right = _uniform(full, prompt, call) < p
        text = answer if right else _wrong(answer, _uniform("wrong", full, prompt, call))
        confidence = min(max(p if right else 1 - p, 1e-6), 1 - 1e-6)
        logprob = Logprob(token=text, logprob=math.log(confidence))
        choice = ChatCompletionChoice(message=ChatMessageAssistant(content=text, model=full), stop_reason="stop",
                                      logprobs=Logprobs(content=[logprob]))
        usage = ModelUsage(input_tokens=len(prompt.split()), output_tokens=1,
                           total_tokens=len(prompt.split()) + 1)
        return ModelOutput(model=full, choices=[choice], usage=usage)


@task
def arithmetic(n: int = 20):
    """Sums of two numbers; one scorer (``match``), letter scores C/I."""
    return Task(dataset=MemoryDataset(task_samples("arithmetic", n)), solver=generate(), scorer=match(numeric=True))


@task
def capitals(n: int = 20):
    """Capital cities; two scorers (``exact`` first, ``includes``)."""
    return Task(dataset=MemoryDataset(task_samples("capitals", n)), solver=generate(), scorer=[exact(), includes()])


@task
def antonyms(n: int = 20, epochs: int = 2):
    """Antonyms, several epochs (mean reducer)."""
    return Task(dataset=MemoryDataset(task_samples("antonyms", n)), solver=generate(), scorer=match(), epochs=epochs)


@task
def spelling(n: int = 20):
    """Words spelt backwards; one scorer (``exact``)."""
    return Task(dataset=MemoryDataset(task_samples("spelling", n)), solver=generate(), scorer=exact())


TASKS = {"arithmetic": arithmetic, "capitals": capitals, "antonyms": antonyms, "spelling": spelling}

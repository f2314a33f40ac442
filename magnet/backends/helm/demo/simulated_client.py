"""A HELM ``Client`` whose answers come from :mod:`magnet.backends.helm.demo.simulation`.

HELM instantiates it through the ``client_spec`` of a model deployment that the
demo build writes into its local config dir (``model_deployments.yaml``)::

    model_deployments:
      - name: magnet-sim/atlas-7b
        model_name: magnet-sim/atlas-7b
        tokenizer_name: simple/tokenizer1
        max_sequence_length: 8192
        client_spec:
          class_name: magnet.backends.helm.demo.simulated_client.SimulatedClient
          args: {config_path: /path/to/simulation.json}

``simulation.json`` holds the seed, the models, the scenarios' IRT parameters
and the path of the answer key (see :mod:`.answer_key`). Everything is a pure
function of (seed, model, prompt), so HELM's request threads and caches
cannot change a result.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from functools import lru_cache

from helm.clients.client import Client
from helm.common.request import GeneratedOutput, Request, RequestResult, Token

from magnet.backends.helm.demo.answer_key import prompt_key
from magnet.backends.helm.demo.simulation import SimModel, SimScenario, answer

#: A fixed timestamp for every simulated request, so outputs are reproducible.
REQUEST_DATETIME = 1767225600  # 2026-01-01T00:00:00Z

_lock = threading.Lock()


@dataclass(frozen=True)
class Simulation:
    """Everything the client needs, loaded once per config file."""

    seed: int
    models: dict[str, SimModel]
    scenarios: dict[str, SimScenario]
    key: dict[str, dict]


@lru_cache(maxsize=8)
def load_simulation(config_path: str) -> Simulation:
    """Read ``simulation.json`` and its answer key."""
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    with open(config["key_path"], encoding="utf-8") as f:
        key = json.load(f)
    models = {name: SimModel(name=name, **spec) for name, spec in config["models"].items()}
    scenarios = {
        label: SimScenario(
            entry=spec["entry"],
            loadings=tuple(spec["loadings"]),
            difficulty=spec["difficulty"],
            spread=spec["spread"],
            discrimination=spec["discrimination"],
            perturbations=tuple(spec.get("perturbations", ())),
        )
        for label, spec in config["scenarios"].items()
    }
    return Simulation(config["seed"], models, scenarios, key)


def _tokens(text: str, logprob: float) -> list[Token]:
    """Split ``text`` at spaces (keeping them) and share ``logprob`` equally."""
    pieces = [p for p in text.replace(" ", "\x00 ").split("\x00") if p] or [text]
    return [Token(text=p, logprob=logprob / len(pieces)) for p in pieces]


class SimulatedClient(Client):
    """Answers HELM requests as a simulated model (see the module docstring)."""

    def __init__(self, config_path: str):
        self.config_path = config_path

    def make_request(self, request: Request) -> RequestResult:
        with _lock:
            sim = load_simulation(self.config_path)
        model = sim.models.get(request.model)
        entry = sim.key.get(prompt_key(request.prompt))
        if model is None or entry is None:
            what = f"model {request.model!r}" if model is None else "a prompt that is not in the answer key"
            return RequestResult(
                success=False, cached=False, completions=[], embedding=[],
                error=f"magnet simulated client: unknown {what} ({self.config_path})",
            )
        scenario = sim.scenarios[entry["scenario"]]
        completions = []
        for i in range(max(request.num_completions, 1)):
            said = answer(
                model, scenario, sim.seed, request.prompt if i == 0 else f"{request.prompt}\x00{i}",
                entry["text"], entry["correct"], entry["wrong"], entry["multiple_choice"],
                perturbation=entry["perturbation"],
            )
            completions.append(
                GeneratedOutput(text=said.text, logprob=said.logprob, tokens=_tokens(said.text, said.logprob))
            )
        n_tokens = sum(len(c.tokens) for c in completions)
        return RequestResult(
            success=True,
            cached=False,
            request_time=round(0.05 + model.seconds_per_token() * n_tokens, 6),
            request_datetime=REQUEST_DATETIME,
            completions=completions,
            embedding=[],
        )

"""A fake command runner for the pipeline's unit tests: it records every command line and answers from a script."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from pipeline.asvrun import Done

Answer = Done | Callable[[list[str]], Done]


class FakeRunner:
    """Records each call (argv, env, capture); answers with the first rule whose key is one of the command line's
    words (``{"--flagged": Done(0, "^core")}``), else status 0 and no output (git rev-parse: a made-up hash)."""

    def __init__(self, answers: Mapping[str, Answer] | None = None, python_dirs: str = "/py/3.11/bin"):
        self.answers = dict(answers or {})
        self.python_dirs = python_dirs
        self.calls: list[tuple[list[str], dict[str, str], bool]] = []

    def __call__(self, argv: Sequence[str], *, env: Mapping[str, str] | None = None, capture: bool = False,
                 echo: bool = True) -> Done:
        argv = list(argv)
        if argv[0].endswith("python-dirs"):
            return Done(0, "-E virtualenv:3.11 -E virtualenv:3.13\n" if "--specs" in argv else self.python_dirs)
        self.calls.append((argv, dict(env or {}), capture))
        for key, answer in self.answers.items():
            if key in argv:
                return answer(argv) if callable(answer) else answer
        if argv[:3] == ["git", "rev-parse", "--verify"]:
            return Done(0, f"{argv[3].split('^')[0]:0<40}\n")
        return Done(0)

    def commands(self) -> list[list[str]]:
        return [argv for argv, _, _ in self.calls]

    def asv_runs(self) -> list[list[str]]:
        """The asv run command lines, from `run` on."""
        return [argv[argv.index("asv") + 1:] for argv in self.commands() if "asv" in argv and "run" in argv]

    def kinds(self) -> list[str]:
        """What each call was, in order: asv run, dependencies, reports <command>, git..."""
        out = []
        for argv in self.commands():
            if "asv" in argv:
                out.append("asv " + argv[argv.index("asv") + 1])
            elif "pipeline" in argv:
                out.append("pipeline " + argv[argv.index("pipeline") + 1])
            elif "reports" in argv:
                out.append("reports " + argv[argv.index("reports") + 1])
            elif "benchmarks" in argv:
                out.append("benchmarks " + argv[argv.index("benchmarks") + 1])
            else:
                out.append(argv[0] + " " + argv[1])
        return out

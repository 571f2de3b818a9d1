"""The harness's one exception tree.

    HarnessError                 base; its message is one line fit for the command line
    ├── ToolMissing              a measuring tool is not installed (names the Debian package: tools.py)
    ├── PortBusy                 the requested port on 127.0.0.1 is taken
    ├── ServerError              adds the last lines of the server's log below its one line
    │   ├── ServerStartFailed    exited or never answered /healthz before the deadline
    │   └── ServerDied           exited while it was being measured
    ├── VerificationFailed       the target URL does not answer what the app should (before a run)
    ├── LoadFailed               the generator failed, timed out, or printed nothing we can read
    └── ResultsError             a results file that is not ours, or of a version we cannot read

A run that fails is recorded as failed, with the reason, and never yields a number.
"""

from __future__ import annotations


class HarnessError(Exception):
    """Base of every error the harness raises on purpose."""


class ToolMissing(HarnessError):
    pass


class PortBusy(HarnessError):
    pass


class ServerError(HarnessError):
    def __init__(self, message: str, log_tail: str = "") -> None:
        super().__init__(message)
        self.log_tail = log_tail

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text}\n--- server log (last lines) ---\n{self.log_tail}" if self.log_tail else text


class ServerStartFailed(ServerError):
    pass


class ServerDied(ServerError):
    pass


class VerificationFailed(HarnessError):
    pass


class LoadFailed(HarnessError):
    pass


class ResultsError(HarnessError):
    pass

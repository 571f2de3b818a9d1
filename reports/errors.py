"""The reports' one exception tree; each message is one line fit for the command line.

    ReportError          base: results that are missing, a commit that does not exist, asv refusing its input
    ├── SiteError        the site cannot be built (asv's site is missing)
    └── OfflineError     asv's site cannot be made to work offline (an asset cannot be fetched or does not match)
"""

from __future__ import annotations


class ReportError(Exception):
    """Base of every error the reports raise on purpose."""


class SiteError(ReportError):
    pass


class OfflineError(ReportError):
    pass

"""Crisis errors: a refused transition is a conflict with the current state, never a 500.

ColsecError
└── Conflict (409)
    ├── InvalidTransition   the object is not in a state that allows this step
    └── ConsultationClosed  a position arrived after the deadline or the decision
"""

from __future__ import annotations

from colsec.errors import Conflict

__all__ = ["ConsultationClosed", "InvalidTransition"]


class InvalidTransition(Conflict):
    code = "invalid_transition"


class ConsultationClosed(Conflict):
    code = "consultation_closed"

"""Every table mezame stores, in one package so relationships resolve without import cycles."""

from mezame.models.accounts import ApiToken, ImportRun, User
from mezame.models.base import Base, UTCDateTime, utcnow
from mezame.models.customers import Company, Contact
from mezame.models.engagement import ConsentRecord, EngagementEvent, SurveyAnswer
from mezame.models.policy import PolicySetting
from mezame.models.sales import Deal, Order, SalesActivity

__all__ = [
    "ApiToken",
    "Base",
    "Company",
    "ConsentRecord",
    "Contact",
    "Deal",
    "EngagementEvent",
    "ImportRun",
    "Order",
    "PolicySetting",
    "SalesActivity",
    "SurveyAnswer",
    "UTCDateTime",
    "User",
    "utcnow",
]

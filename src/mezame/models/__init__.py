"""Every table mezame stores, in one package so relationships resolve without import cycles."""

from mezame.models.accounts import ApiToken, ImportRun, LoginAttempt, User
from mezame.models.base import Base, UTCDateTime, utcnow
from mezame.models.campaigns import Campaign, CampaignSend, CampaignStep, Suppression
from mezame.models.cleaning import DuplicateDecision, Merge, MergedRecord, MergeMovedRow
from mezame.models.customers import Company, Contact
from mezame.models.dormancy import DormancyRun, DormantCustomer
from mezame.models.engagement import ConsentRecord, EngagementEvent, SurveyAnswer
from mezame.models.policy import PolicySetting
from mezame.models.sales import Deal, Order, SalesActivity
from mezame.models.segments import ContactTag, Segment
from mezame.models.templates import MailTemplate

__all__ = [
    "ApiToken",
    "Base",
    "Campaign",
    "CampaignSend",
    "CampaignStep",
    "Company",
    "ConsentRecord",
    "Contact",
    "ContactTag",
    "Deal",
    "DormancyRun",
    "DormantCustomer",
    "DuplicateDecision",
    "EngagementEvent",
    "ImportRun",
    "LoginAttempt",
    "MailTemplate",
    "Merge",
    "MergeMovedRow",
    "MergedRecord",
    "Order",
    "PolicySetting",
    "SalesActivity",
    "Segment",
    "Suppression",
    "SurveyAnswer",
    "UTCDateTime",
    "User",
    "utcnow",
]

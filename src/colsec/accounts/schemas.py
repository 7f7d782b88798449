"""Request and response shapes of the accounts API (no password or token hash ever leaves)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["PasswordIn", "TokenIn", "TokenOut", "UserIn", "UserOut"]


class UserIn(BaseModel):
    username: str = Field(min_length=2, max_length=80)
    role: str = Field(max_length=20)
    password: str | None = Field(default=None, min_length=8, max_length=200)
    organisation: str | None = Field(default=None, max_length=200, description="default: the caller's")
    display_name: str = Field(default="", max_length=200)
    language: str = Field(default="en", max_length=5)


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    username: str
    display_name: str
    role: str
    organisation_id: int
    language: str
    is_active: bool


class TokenIn(BaseModel):
    name: str = Field(default="api", min_length=1, max_length=100)
    expires_days: int | None = Field(default=None, ge=1, le=3650)


class TokenOut(BaseModel):
    """The clear token, shown once."""

    username: str
    name: str
    token: str


class PasswordIn(BaseModel):
    password: str = Field(min_length=8, max_length=200)
    current_password: str | None = Field(default=None, max_length=200, description="required for one's own")

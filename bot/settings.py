"""All configuration in one place, read once from the environment (and `.env`)."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Environment variables are prefixed `TROLY_` (see the design's table)."""

    model_config = SettingsConfigDict(env_prefix="TROLY_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///data/troly.db"

    zalo_app_id: str | None = None
    zalo_oa_secret_key: str | None = None
    zalo_access_token: str | None = None
    zalo_refresh_token: str | None = None
    zalo_app_secret: str | None = None
    zalo_api_base: str = "https://openapi.zalo.me"
    zalo_oauth_base: str = "https://oauth.zaloapp.com"

    zalo_bot_token: str | None = None
    zalo_bot_secret_token: str | None = None
    zalo_bot_api_base: str = "https://bot-api.zaloplatforms.com"

    facebook_app_secret: str | None = None
    facebook_verify_token: str | None = None
    facebook_page_token: str | None = None
    facebook_graph_base: str = "https://graph.facebook.com"

    admin_password: str | None = None

    choice_ttl_minutes: int = Field(default=30, description="How long a numbered suggestion can be picked.")
    seed_faq: bool = Field(default=True, description="Seed the shipped FAQ into an empty database.")

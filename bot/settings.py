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
    zalo_oa_id: str | None = Field(default=None, description="The OA's own id: `[@oa_id]` in a group mentions the bot.")

    zalo_bot_token: str | None = None
    zalo_bot_secret_token: str | None = None
    zalo_bot_api_base: str = "https://bot-api.zaloplatforms.com"

    facebook_app_secret: str | None = None
    facebook_verify_token: str | None = None
    facebook_page_token: str | None = None
    facebook_graph_base: str = "https://graph.facebook.com"
    facebook_graph_version: str = "v21.0"
    facebook_app_id: str | None = Field(default=None, description="Our app id: echoes from other apps are human replies.")

    bot_names: tuple[str, ...] = Field(
        default=("trợ lý số", "tro ly so", "trợ lý", "tro ly", "bot"),
        description="Words that address the bot in a group message.",
    )

    admin_password: str | None = None
    webchat_frame_ancestors: str = Field(
        default="*", description="Sites whose pages may embed the web chat (CSP frame-ancestors), e.g. "
                                 "'https://anphu.gov.vn https://*.gov.vn'. No other page can ever be framed.")

    group_repeat_minutes: int = Field(default=5, description="The same answer is not posted twice in a group within this.")
    group_replies_per_minute: int = Field(default=6, description="At most this many bot messages per group and minute.")

    worker_in_serve: bool = Field(default=True, description="`troly serve` also runs the worker and the sender.")
    worker_poll_seconds: float = 0.5
    lease_seconds: float = Field(default=60.0, description="A claimed row is taken over by another worker after this.")
    inbox_max_attempts: int = 5
    send_timeout_seconds: float = 10.0
    send_retry_base_seconds: float = Field(default=1.0, description="First back-off; doubles on each retry.")
    send_retry_max_seconds: float = 300.0
    send_max_attempts: int = 10
    webhook_max_bytes: int = 1_000_000
    log_level: str = Field(default="info", description="debug, info, warning or error.")
    log_format: str = Field(default="json", description="json (one object per line, for log collectors) or text.")
    log_requests: bool = Field(default=False, description="Log every HTTP request (uvicorn's access log).")

    escalation_remind_minutes: int = Field(default=30, description="Unclaimed this long: on-duty members are reminded.")
    escalation_max_reminders: int = Field(default=2, description="Reminders to members per escalation, at most.")
    quiet_hours: str = Field(default="21:00-06:30", description="No reminders in these local hours.")
    timezone: str = "Asia/Ho_Chi_Minh"
    reminder_check_seconds: float = 60.0
    feedback_window_minutes: int = Field(default=10, description="\"Sai rồi\" within this after an answer escalates it.")
    retention_days: int = Field(default=180, ge=1, description="Finished conversations older than this are deleted.")

    semantic: bool = Field(default=False, description="Re-rank the FAQ matches by meaning (needs `pip install '.[semantic]'`; "
                                                      "about 10 s more at start-up). Off unless asked: the extra alone changes nothing.")

    choice_ttl_minutes: int = Field(default=30, description="How long a numbered suggestion can be picked.")
    seed_faq: bool = Field(default=True, description="Seed the shipped FAQ into an empty database.")
    seed_admin: bool = Field(default=True, description="Create the user `admin` on first start.")

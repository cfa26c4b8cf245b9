"""Placeholder router, replaced by its module's work in this session."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from bot.runtime import Runtime


def router(rt: Runtime, wake: Callable[[], None]) -> APIRouter:
    return APIRouter()

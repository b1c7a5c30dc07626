"""Filled in by its helper: views and `urlpatterns`."""
urlpatterns: list = []

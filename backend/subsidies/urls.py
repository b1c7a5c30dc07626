"""/api/subsidies/…: claims, evaluations, review and payment (`api_claims`); policies, versions,
rules, exports and the impact report (`api_policies`)."""
from django.urls import include, path

urlpatterns = [
    path("subsidies/", include("subsidies.api_claims")),
    path("subsidies/", include("subsidies.api_policies")),
]

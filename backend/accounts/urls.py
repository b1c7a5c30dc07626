from django.urls import path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("jurisdictions", views.JurisdictionViewSet, basename="jurisdiction")
router.register("organisations", views.OrganisationViewSet, basename="organisation")

urlpatterns = [
    path("auth/csrf/", views.CsrfView.as_view(), name="auth-csrf"),
    path("auth/login/", views.LoginView.as_view(), name="auth-login"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/me/", views.MeView.as_view(), name="auth-me"),
    path("auth/token/", views.TokenView.as_view(), name="auth-token"),
    path("auth/tokens/", views.TokenListView.as_view(), name="auth-tokens"),
    path("auth/tokens/<int:pk>/", views.TokenDetailView.as_view(), name="auth-token-detail"),
    path("auth/password/", views.PasswordView.as_view(), name="auth-password"),
    *router.urls,
]

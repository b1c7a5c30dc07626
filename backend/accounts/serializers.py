from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import DEVICE_MAX_LENGTH, AuthToken, Jurisdiction, Organisation, User


class JurisdictionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Jurisdiction
        fields = ["id", "code", "name", "name_en", "level", "parent", "county"]


class JurisdictionBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Jurisdiction
        fields = ["id", "name", "level"]


class OrganisationSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    jurisdiction = JurisdictionBriefSerializer(read_only=True)

    class Meta:
        model = Organisation
        fields = ["id", "name", "kind", "kind_label", "jurisdiction"]


class OrganisationBriefSerializer(serializers.ModelSerializer):
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Organisation
        fields = ["id", "name", "kind", "kind_label"]


class MeSerializer(serializers.ModelSerializer):
    role_label = serializers.CharField(source="get_role_display", read_only=True)
    display_name = serializers.CharField(max_length=100, required=False)
    organisation = OrganisationBriefSerializer(read_only=True, allow_null=True)
    jurisdiction = serializers.SerializerMethodField()
    worker_id = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = [
            "id", "username", "display_name", "phone", "role", "role_label", "language",
            "organisation", "jurisdiction", "worker_id",
        ]
        read_only_fields = ["id", "username", "phone", "role", "role_label", "organisation"]

    @extend_schema_field(JurisdictionBriefSerializer(allow_null=True))
    def get_jurisdiction(self, user: User) -> dict | None:
        if user.organisation_id:
            return JurisdictionBriefSerializer(user.organisation.jurisdiction).data
        worker = getattr(user, "worker", None)
        if worker is not None:
            return JurisdictionBriefSerializer(worker.village).data
        return None

    def get_worker_id(self, user: User) -> int | None:
        worker = getattr(user, "worker", None)
        return worker.pk if worker is not None else None


class LoginSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, label=_("Username or phone"))
    password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})


class TokenLoginSerializer(LoginSerializer):
    device = serializers.CharField(
        max_length=DEVICE_MAX_LENGTH, required=False, allow_blank=True, label=_("Device"),
        help_text=_("A name for this device, shown in your list of tokens; the User-Agent when absent."),
    )


class TokenSerializer(serializers.Serializer):
    """A new token: the key is in this answer only (the server keeps its hash)."""

    token = serializers.CharField(read_only=True)
    id = serializers.IntegerField(read_only=True)
    device = serializers.CharField(read_only=True)
    expiry = serializers.DateTimeField(read_only=True)


class TokenDeviceSerializer(serializers.ModelSerializer):
    """One of my tokens, as a device: never its key or digest."""

    current = serializers.SerializerMethodField(help_text=_("True for the token making this request."))

    class Meta:
        model = AuthToken
        fields = ["id", "device", "created", "last_used", "expiry", "current"]
        read_only_fields = fields

    def get_current(self, token: AuthToken) -> bool:
        return token.pk == self.context.get("current_token_id")


class TokensRevokedSerializer(serializers.Serializer):
    revoked = serializers.IntegerField(read_only=True, help_text=_("How many tokens were revoked."))


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})
    new_password = serializers.CharField(max_length=128, trim_whitespace=False, style={"input_type": "password"})

import factory

from taocun.accounts.models import RoleGrant, User

DEFAULT_PASSWORD = "village-market-2016"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    phone = factory.Sequence(lambda n: f"+86138{n:08d}")
    display_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.django.Password(DEFAULT_PASSWORD)

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        for role, region in extracted or []:
            RoleGrant.objects.create(user=self, role=role, region=region)

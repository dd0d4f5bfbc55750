from django.contrib.auth import login, logout
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from taocun.accounts import services
from taocun.core.errors import ApplicationError


def login_view(request):
    error = None
    if request.method == "POST":
        try:
            user = services.user_login(
                request=request,
                phone=request.POST.get("phone", ""),
                password=request.POST.get("password", ""),
            )
        except ApplicationError as exc:
            error = exc
        else:
            login(request, user)
            return redirect(request.GET.get("next") or "web:home")
    return render(request, "accounts/login.html", {"error": error}, status=error.http_status if error else 200)


@require_POST
def logout_view(request):
    logout(request)
    return redirect("web:home")


def signup_view(request):
    error = None
    if request.method == "POST":
        try:
            user = services.user_sign_up(
                phone=request.POST.get("phone", ""),
                password=request.POST.get("password", ""),
                display_name=request.POST.get("display_name", ""),
                ip_address=request.META.get("REMOTE_ADDR"),
            )
        except ApplicationError as exc:
            error = exc
        else:
            login(request, user)
            return redirect("web:home")
    return render(request, "accounts/signup.html", {"error": error}, status=error.http_status if error else 200)

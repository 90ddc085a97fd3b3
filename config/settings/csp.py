"""The Content Security Policy, built in one place from the settings it depends on.

Scripts come only from our own origin (plus Stripe.js); no inline scripts. No inline styles
either (style-src has no 'unsafe-inline'): style attributes in templates are refused by the
browser, so pages use classes (static/css/site.css, console.css). The origins outside ours
are those of the bucket the large-file uploader PUTs parts to and of Stripe.
"""

from django.utils.csp import CSP


def origin(url: str) -> str:
    return "/".join(url.split("/")[:3])


def content_security_policy(
    *,
    s3_endpoint_url: str | None,
    s3_bucket: str,
    s3_region: str,
    stripe_js_url: str,
    stripe_api_base: str,
) -> dict[str, list[str]]:
    """SECURE_CSP for these settings (base.py passes its own; tests that point a setting
    elsewhere build the policy again with this function)."""
    # The large-file uploader PUTs parts from the browser straight to the bucket (presigned
    # URLs, intake/uploads.py): the pages' connect-src must allow the origin they point at.
    if s3_endpoint_url:
        bucket_origins = [origin(s3_endpoint_url)]
    elif s3_bucket:
        bucket_origins = [
            f"https://{s3_bucket}.s3.amazonaws.com",
            f"https://{s3_bucket}.s3.{s3_region}.amazonaws.com",
        ]
    else:
        bucket_origins = []
    # Stripe.js runs from its own origin, talks to the API and opens 3-D Secure frames;
    # these origins come from the settings, so localstripe's shim works under the same policy.
    stripe_js_origin = origin(stripe_js_url)
    stripe_api_origin = origin(stripe_api_base) if stripe_api_base else "https://api.stripe.com"
    # Stripe's 3-D Secure pages; localstripe's shim draws its own dialog in the page instead.
    stripe_3ds_frames = [] if stripe_api_base else ["https://hooks.stripe.com"]

    def distinct(*sources: str) -> list[str]:
        return list(dict.fromkeys(sources))

    return {
        "default-src": [CSP.SELF],
        "script-src": [CSP.SELF, CSP.NONCE, stripe_js_origin],
        "style-src": [CSP.SELF],
        # blob: the slide viewer fetches tiles with its grant in a header and draws them
        # from blobs (the grant never goes in a URL).
        "img-src": [CSP.SELF, "data:", "blob:"],
        "font-src": [CSP.SELF],
        "connect-src": distinct(CSP.SELF, *bucket_origins, stripe_api_origin, stripe_js_origin),
        "frame-ancestors": [CSP.NONE],
        "form-action": [CSP.SELF],
        "base-uri": [CSP.SELF],
        "object-src": [CSP.NONE],
        "frame-src": distinct(CSP.SELF, stripe_js_origin, *stripe_3ds_frames),
    }

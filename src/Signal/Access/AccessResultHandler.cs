using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;
using Microsoft.AspNetCore.Http;

namespace Turn.Signal.Access;

/// <summary>
/// Answers a refused request with the refusal's status and a problem document, without the
/// authentication challenge ASP.NET Core would otherwise ask for (this server has no login).
/// </summary>
internal sealed class AccessResultHandler : IAuthorizationMiddlewareResultHandler
{
    public async Task HandleAsync(RequestDelegate next, HttpContext context, AuthorizationPolicy policy, PolicyAuthorizationResult authorizeResult)
    {
        if (authorizeResult.Succeeded)
        {
            await next(context).ConfigureAwait(false);
            return;
        }

        AccessRefusal refusal = context.Items.TryGetValue(typeof(AccessRefusal), out object? kept) && kept is AccessRefusal first
            ? first
            : new AccessRefusal(StatusCodes.Status403Forbidden, "refused");
        if (refusal.Status == StatusCodes.Status401Unauthorized)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer";
        }
        else if (refusal.Status == StatusCodes.Status429TooManyRequests)
        {
            context.Response.Headers.RetryAfter = "60";
        }

        await JsonBytesResult.Problem(refusal.Status, refusal.Detail).ExecuteAsync(context).ConfigureAwait(false);
    }
}

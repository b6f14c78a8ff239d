using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;

namespace Turn.Signal.Access;

/// <summary>Evaluates every <see cref="AccessRequirement"/> of a policy against the request.</summary>
internal sealed class AccessHandler : AuthorizationHandler<AccessRequirement>
{
    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, AccessRequirement requirement)
    {
        if (context.Resource is not HttpContext http)
        {
            context.Fail(new AuthorizationFailureReason(this, "no request to judge"));
            return Task.CompletedTask;
        }

        AccessRefusal? refusal = requirement.Check(http);
        if (refusal is null)
        {
            context.Succeed(requirement);
        }
        else
        {
            // Kept on the request: ASP.NET Core hands an unauthenticated failure to the result
            // handler as a bare challenge, without its reasons.
            http.Items.TryAdd(typeof(AccessRefusal), refusal);
            context.Fail(new AuthorizationFailureReason(this, refusal.Detail));
        }

        return Task.CompletedTask;
    }
}

using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Turn.Signal.Access;

/// <summary>The signaling API key (Signal:ApiKey) as a Bearer credential; while no key is set the endpoint is off.</summary>
internal sealed class ApiKeyRequirement : AccessRequirement
{
    public override AccessRefusal? Check(HttpContext context)
    {
        string? key = context.RequestServices.GetRequiredService<SignalHub>().Options.ApiKey;
        if (key is null)
        {
            return new AccessRefusal(StatusCodes.Status403Forbidden, "this endpoint is off until Signal:ApiKey is set");
        }

        return BearerToken.Carries(context.Request, key) ? null : new AccessRefusal(StatusCodes.Status401Unauthorized, "the API key is missing or wrong");
    }
}

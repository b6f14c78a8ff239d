using Microsoft.AspNetCore.Http;
using Turn.Signal.Access;

namespace Turn.Hosting;

/// <summary>The admin API's key (Admin:ApiKey) as a Bearer credential; without a key configured the admin API is off.</summary>
internal sealed class AdminKeyRequirement(string? key) : AccessRequirement
{
    public override AccessRefusal? Check(HttpContext context)
    {
        if (key is null)
        {
            return new AccessRefusal(StatusCodes.Status403Forbidden, "the admin API is off until Admin:ApiKey is set");
        }

        return BearerToken.Carries(context.Request, key) ? null : new AccessRefusal(StatusCodes.Status401Unauthorized, "the admin key is missing or wrong");
    }
}

using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Turn.Signal.Access;

/// <summary>
/// Who may have TURN credentials over HTTP: the application's backend with the API key (no rate
/// applies to it), or a client the admission model admits (a join token for any room; anyone
/// with Signal:UnsafeOpenAdmission; clients on this host otherwise), within its address's
/// credential rate.
/// </summary>
internal sealed class IceServersRequirement : AccessRequirement
{
    public override AccessRefusal? Check(HttpContext context)
    {
        IServiceProvider services = context.RequestServices;
        SignalHub hub = services.GetRequiredService<SignalHub>();
        SignalOptions options = hub.Options;
        if (options.ApiKey is not null && BearerToken.Carries(context.Request, options.ApiKey))
        {
            return null;
        }

        TimeProvider time = services.GetService<TimeProvider>() ?? TimeProvider.System;
        System.Net.IPAddress? remote = context.Connection.RemoteIpAddress;
        switch (options.Admission)
        {
            case SignalAdmission.JoinToken:
                string? token = BearerToken.From(context.Request) ?? context.Request.Query["token"].ToString();
                if (!JoinToken.VerifyAnyRoom(token, options.JoinTokenSecret!, time.GetUtcNow().ToUnixTimeSeconds()))
                {
                    return new AccessRefusal(StatusCodes.Status401Unauthorized, "the API key or a valid join token is required");
                }

                break;
            case SignalAdmission.LocalOnly when !SourceAddress.IsLocal(context):
                return new AccessRefusal(StatusCodes.Status403Forbidden, "this server hands out credentials to its own host only until Signal:JoinTokenSecret or Signal:ApiKey is set");
            default:
                break;
        }

        long nowMs = (long)(time.GetTimestamp() * (1000.0 / time.TimestampFrequency));
        return hub.TryMint(SourceAddress.KeyOf(remote), options, nowMs)
            ? null
            : new AccessRefusal(StatusCodes.Status429TooManyRequests, $"more than {options.CredentialsPerMinute} sets of TURN credentials a minute for this address");
    }
}

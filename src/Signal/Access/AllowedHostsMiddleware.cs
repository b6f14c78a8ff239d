using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Turn.Signal.Access;

/// <summary>Refuses (400) every request whose Host is not one of this server's names (DNS rebinding).</summary>
public static class AllowedHostsMiddleware
{
    public static IApplicationBuilder UseAllowedHosts(this IApplicationBuilder app)
    {
        ArgumentNullException.ThrowIfNull(app);
        IAllowedHosts hosts = app.ApplicationServices.GetService<IAllowedHosts>() ?? new LocalHosts();
        ILogger logger = app.ApplicationServices.GetRequiredService<ILoggerFactory>().CreateLogger("Turn.Signal");
        TimeProvider time = app.ApplicationServices.GetService<TimeProvider>() ?? TimeProvider.System;
        return app.Use((context, next) =>
        {
            string host = context.Request.Host.Host;
            if (host.Length > 0 && hosts.IsAllowed(host))
            {
                return next(context);
            }

            if (SignalLog.Limiter.ShouldLog(2005, time.GetTimestamp(), time.TimestampFrequency, out long suppressed))
            {
                SignalLog.HostRefused(logger, host.Length > 64 ? host[..64] : host, suppressed);
            }

            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return context.Response.WriteAsync("This server does not answer to that host name.\n");
        });
    }
}

using Microsoft.Extensions.Logging;

namespace Turn.Signal;

/// <summary>Log events of the signaling endpoint, ids 2000-2099.</summary>
internal static partial class SignalLog
{
    [LoggerMessage(EventId = 2000, Level = LogLevel.Debug, Message = "Peer {PeerId} joined room {Room}")]
    public static partial void Joined(ILogger logger, string peerId, string room);

    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug, Message = "Peer {PeerId} resumed in room {Room}")]
    public static partial void Resumed(ILogger logger, string peerId, string room);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Debug, Message = "Signaling connection of {PeerId} closed: {Reason}")]
    public static partial void Closed(ILogger logger, string? peerId, string reason);

    /// <summary>Events clients can provoke are logged at most once per event id every few seconds.</summary>
    public static readonly LogLimiter Limiter = new(TimeSpan.FromSeconds(10));

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Refused a WebSocket from origin {Origin} ({Suppressed} more since the last such line)")]
    public static partial void OriginRefused(ILogger logger, string origin, long suppressed);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Warning, Message = "Handling a message from {PeerId} failed; the connection goes on ({Suppressed} more since the last such line)")]
    public static partial void DispatchFault(ILogger logger, Exception exception, string? peerId, long suppressed);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Refused a request for host {Host}: not one of this server's names ({Suppressed} more since the last such line)")]
    public static partial void HostRefused(ILogger logger, string host, long suppressed);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning, Message = "Accepting a connection failed: {Reason} ({Suppressed} more since the last such line)")]
    public static partial void AcceptFailed(ILogger logger, string reason, long suppressed);
}

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

    [LoggerMessage(EventId = 2003, Level = LogLevel.Information, Message = "Refused a WebSocket from origin {Origin}")]
    public static partial void OriginRefused(ILogger logger, string origin);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "Handling a message from {PeerId} failed; the connection goes on")]
    public static partial void DispatchFault(ILogger logger, Exception exception, string? peerId);
}

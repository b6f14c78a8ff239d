using System.Net;
using Microsoft.Extensions.Logging;

namespace Turn.Transport;

/// <summary>Log events of the socket loops, ids 1100-1199.</summary>
internal static partial class TransportLog
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "Listening on {Protocol} {EndPoint}")]
    public static partial void Listening(ILogger logger, string protocol, EndPoint endPoint);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Error, Message = "Handler fault on {Protocol} packet from {Remote}; the loop goes on")]
    public static partial void HandlerFault(ILogger logger, Exception exception, string protocol, string remote);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Debug, Message = "{Protocol} send to {Remote} failed: {Error}")]
    public static partial void SendFailed(ILogger logger, string protocol, string remote, string error);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "{Protocol} receive on {EndPoint} failed: {Error}; the loop goes on")]
    public static partial void ReceiveFailed(ILogger logger, string protocol, EndPoint endPoint, string error);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Debug, Message = "{Protocol} connection from {Remote} closed: {Reason}")]
    public static partial void ConnectionClosed(ILogger logger, string protocol, EndPoint? remote, string reason);

    /// <summary>Warnings a client can provoke at will are let through at most once per event id every few seconds.</summary>
    public static readonly Turn.Signal.LogLimiter Limiter = new(TimeSpan.FromSeconds(10));

    [LoggerMessage(EventId = 1105, Level = LogLevel.Warning, Message = "{Protocol} connection from {Remote} refused: {Limit} connections already open ({Suppressed} more since the last such line)")]
    public static partial void ConnectionRefused(ILogger logger, string protocol, EndPoint? remote, int limit, long suppressed);

    [LoggerMessage(EventId = 1109, Level = LogLevel.Debug, Message = "{Protocol} connection from {Remote} refused: {Limit} connections already open from its address")]
    public static partial void ConnectionRefusedPerAddress(ILogger logger, string protocol, EndPoint? remote, int limit);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Debug, Message = "TLS handshake with {Remote} failed: {Error}")]
    public static partial void HandshakeFailed(ILogger logger, EndPoint? remote, string error);

    [LoggerMessage(EventId = 1107, Level = LogLevel.Error, Message = "Accept loop on {EndPoint} failed")]
    public static partial void AcceptFailed(ILogger logger, Exception exception, EndPoint endPoint);

    [LoggerMessage(EventId = 1108, Level = LogLevel.Debug, Message = "Relay socket {Local} receive failed: {Error}")]
    public static partial void RelayReceiveFailed(ILogger logger, string local, string error);
}

using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.DependencyInjection;
using Turn.Signal;
using Turn.Transport;
using Turn.Wire;
using Turn.Configuration;

namespace Turn.Hosting;

/// <summary>
/// TURN over TLS and HTTPS on one port, for networks that let only TCP 443 out. When an https
/// Http:Urls entry has the port of Listen:TlsPort, the daemon binds no TLS listener of its own
/// there: Kestrel accepts, terminates TLS once (with the certificate in force, so a reload reaches
/// both), and this routes each connection by what the client sends. ALPN "stun.turn" (RFC 7443)
/// goes to TURN; without it, the first decrypted bytes decide: a STUN header (first two bits 0,
/// the magic cookie at byte 4) goes to TURN, anything else (an HTTP request line, the HTTP/2
/// preface) to HTTP. A TURN connection must open with a STUN message, so ChannelData, whose
/// first byte an HTTP method's letter could resemble, is never the first thing sent.
/// </summary>
internal static class SharedTlsPort
{
    private static readonly SslApplicationProtocol StunTurn = new("stun.turn"u8.ToArray());

    /// <summary>The port TURN over TLS shares with HTTPS, or null when it has its own listener.</summary>
    public static int? Port(TurnOptions options)
    {
        if (options.Tls.CertificateFile is null || !options.Listen.Transports.Contains("tls"))
        {
            return null;
        }

        foreach (string url in options.Http.Urls)
        {
            var uri = new Uri(url);
            if (uri.Scheme == "https" && uri.Port == options.Listen.TlsPort)
            {
                return uri.Port;
            }
        }

        return null;
    }

    /// <summary>The ALPN protocols a shared port's TLS offers: stun.turn first, then HTTP's.</summary>
    public static void OfferStunTurn(SslServerAuthenticationOptions ssl) => ssl.ApplicationProtocols = [StunTurn, .. ssl.ApplicationProtocols ?? []];

    /// <summary>Connection middleware for the shared port: TURN connections to the TURN server, the rest on to HTTP.</summary>
    public static async Task Route(ConnectionContext connection, ConnectionDelegate next, IServiceProvider services)
    {
        long acceptedAt = Environment.TickCount64;
        if (services.GetRequiredService<StunServerService>().SharedTls is not { } sessions
            || connection.RemoteEndPoint is not IPEndPoint remote || connection.LocalEndPoint is not IPEndPoint local)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        bool turn = connection.Features.Get<ITlsApplicationProtocolFeature>()?.ApplicationProtocol.Span.SequenceEqual(StunTurn.Protocol.Span) == true
            || await StartsWithStun(connection.Transport.Input, sessions.FirstMessageTimeout, connection.ConnectionClosed).ConfigureAwait(false);
        if (!turn)
        {
            await next(connection).ConfigureAwait(false);
            return;
        }

        await sessions.ServeAsync(new DuplexPipeStream(connection.Transport), remote, local, acceptedAt, connection.ConnectionClosed).ConfigureAwait(false);
    }

    /// <summary>
    /// Peeks at the first eight decrypted bytes without consuming them, so HTTP reads them again.
    /// A client that sends fewer within the first-message time is left to HTTP and its timeouts.
    /// </summary>
    private static async Task<bool> StartsWithStun(PipeReader input, TimeSpan wait, CancellationToken closed)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(closed);
        deadline.CancelAfter(wait);
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return false;
            }

            ReadOnlySequence<byte> buffer = result.Buffer;
            if (buffer.Length >= 8 || result.IsCompleted || result.IsCanceled)
            {
                bool stun = buffer.Length >= 8 && IsStunHeader(buffer.Slice(0, 8));
                input.AdvanceTo(buffer.Start);
                return stun;
            }

            // Not enough yet: nothing consumed, everything examined, so the next read waits for more.
            input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private static bool IsStunHeader(ReadOnlySequence<byte> first8)
    {
        Span<byte> header = stackalloc byte[8];
        first8.CopyTo(header);
        return (header[0] & 0xC0) == 0 && StunHeader.HasMagicCookie(header);
    }
}

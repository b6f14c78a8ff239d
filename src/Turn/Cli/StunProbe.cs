using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Security.Cryptography;
using System.Text;
using Turn.Relay;
using Turn.Server;
using Turn.Wire;
using Turn.Hosting;

namespace Turn.Cli;

/// <summary>
/// `turn probe`: sends one Binding request and reports the mapped address and round-trip time.
/// Over UDP it retransmits as RFC 8489 §6.2.1 says (RTO 500 ms, doubling) until the timeout.
/// </summary>
internal sealed class StunProbe(TextWriter output)
{
    private const int BufferLength = 2048;
    private static readonly System.Globalization.CultureInfo Invariant = System.Globalization.CultureInfo.InvariantCulture;

    public string? CaFile { get; init; }

    public bool Insecure { get; init; }

    public async Task<int> RunAsync(ProbeTarget target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        IPEndPoint server;
        try
        {
            server = await Resolve(target.Host, target.Port, deadline.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            await output.WriteLineAsync($"cannot resolve {target.Host}: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        byte[] request = new byte[BufferLength];
        byte[] transactionId = RandomNumberGenerator.GetBytes(StunHeader.TransactionIdLength);
        var writer = StunWriter.Create(request, StunMethod.Binding, StunClass.Request, transactionId);
        writer.AddText(StunAttributeType.Software, "turn probe " + TurnVersion.Current);
        writer.AddFingerprint();
        int requestLength = writer.Length;

        string transport = target.Transport.ToString().ToLowerInvariant();
        await output.WriteLineAsync($"probing {server} over {transport}").ConfigureAwait(false);
        byte[] response = new byte[StreamFraming.MaxFrameLength];
        try
        {
            (int length, TimeSpan rtt, IPEndPoint local) = target.Transport == TransportProtocol.Udp
                ? await ExchangeUdp(server, request.AsMemory(0, requestLength), response, deadline.Token).ConfigureAwait(false)
                : await ExchangeStream(target, server, request.AsMemory(0, requestLength), response, deadline.Token).ConfigureAwait(false);
            return await Report(response.AsMemory(0, length), transactionId, rtt, local).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await output.WriteLineAsync($"no response from {server} within {timeout.TotalSeconds:0.#} s").ConfigureAwait(false);
            return 1;
        }
        catch (Exception e) when (e is SocketException or IOException or System.Security.Authentication.AuthenticationException)
        {
            await output.WriteLineAsync($"{transport} exchange with {server} failed: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    private static async Task<IPEndPoint> Resolve(string host, int port, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host, out IPAddress? literal))
        {
            return new IPEndPoint(literal, port);
        }

        IPAddress[] addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        if (addresses.Length == 0)
        {
            throw new SocketException((int)SocketError.HostNotFound);
        }

        return new IPEndPoint(addresses[0], port);
    }

    private static async Task<(int Length, TimeSpan Rtt, IPEndPoint Local)> ExchangeUdp(IPEndPoint server, ReadOnlyMemory<byte> request, byte[] response, CancellationToken cancellationToken)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        await socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false);
        TimeSpan rto = TimeSpan.FromMilliseconds(500);
        var clock = Stopwatch.StartNew();
        while (true)
        {
            TimeSpan sentAt = clock.Elapsed;
            await socket.SendAsync(request, cancellationToken).ConfigureAwait(false);
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(rto);
            try
            {
                int length = await socket.ReceiveAsync(response, wait.Token).ConfigureAwait(false);
                return (length, clock.Elapsed - sentAt, (IPEndPoint)socket.LocalEndPoint!);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                rto *= 2;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionRefused)
            {
                // An ICMP port unreachable from an earlier try: nobody listens there.
                throw;
            }
        }
    }

    private async Task<(int Length, TimeSpan Rtt, IPEndPoint Local)> ExchangeStream(ProbeTarget target, IPEndPoint server, ReadOnlyMemory<byte> request, byte[] response, CancellationToken cancellationToken)
    {
        using var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(server, cancellationToken).ConfigureAwait(false);
        var local = (IPEndPoint)socket.LocalEndPoint!;
        Stream stream = new NetworkStream(socket, ownsSocket: false);
        await using (stream.ConfigureAwait(false))
        {
            if (target.Transport == TransportProtocol.Tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false, ValidateCertificate);
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = target.Host }, cancellationToken).ConfigureAwait(false);
                stream = ssl;
            }

            var clock = Stopwatch.StartNew();
            await stream.WriteAsync(request, cancellationToken).ConfigureAwait(false);
            int filled = 0;
            while (true)
            {
                int read = await stream.ReadAsync(response.AsMemory(filled), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new IOException("the server closed the connection without answering");
                }

                filled += read;
                FrameStatus status = StreamFraming.TryGetFrame(response.AsSpan(0, filled), out int frameLength, out _);
                if (status == FrameStatus.Complete)
                {
                    return (frameLength, clock.Elapsed, local);
                }

                if (status == FrameStatus.Invalid)
                {
                    throw new IOException("the server sent something that is not STUN");
                }
            }
        }
    }

    private bool ValidateCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (Insecure || errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (CaFile is null || certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }

        // Trust exactly the given CA (or self-signed certificate), as an operator testing a private deployment wants.
        using var custom = new X509Chain();
        custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        custom.ChainPolicy.CustomTrustStore.ImportFromPemFile(CaFile);
        using var leaf = new X509Certificate2(certificate);
        return custom.Build(leaf);
    }

    private async Task<int> Report(ReadOnlyMemory<byte> response, byte[] transactionId, TimeSpan rtt, IPEndPoint local)
    {
        var lines = new StringBuilder();
        int code = Describe(response.Span, transactionId, rtt, local, lines);
        await output.WriteAsync(lines.ToString()).ConfigureAwait(false);
        return code;
    }

    private static int Describe(ReadOnlySpan<byte> response, byte[] transactionId, TimeSpan rtt, IPEndPoint local, StringBuilder lines)
    {
        StunParseStatus status = StunMessage.TryParse(response, out StunMessage message);
        if (status != StunParseStatus.Ok)
        {
            lines.AppendLine(Invariant, $"the response is not valid STUN: {status}");
            return 1;
        }

        if (!message.TransactionId.SequenceEqual(transactionId) || message.Method != StunMethod.Binding)
        {
            lines.AppendLine("the response does not answer our request (transaction ID or method differ)");
            return 1;
        }

        if (message.TryGetAttribute(StunAttributeType.Software, out ReadOnlySpan<byte> software))
        {
            lines.AppendLine(Invariant, $"software:         {Encoding.UTF8.GetString(software)}");
        }

        if (message.Class == StunClass.ErrorResponse)
        {
            string error = message.TryGetAttribute(StunAttributeType.ErrorCode, out ReadOnlySpan<byte> value)
                && ErrorCodeAttribute.TryRead(value, out int code, out ReadOnlySpan<byte> reason)
                ? $"{code} {Encoding.UTF8.GetString(reason)}"
                : "(no ERROR-CODE)";
            lines.AppendLine(Invariant, $"error:            {error}");
            return 1;
        }

        StunAddress mapped;
        bool found = message.TryGetAttribute(StunAttributeType.XorMappedAddress, out ReadOnlySpan<byte> xor)
            ? AddressAttribute.TryReadXor(xor, message.CookieAndTransactionId, out mapped)
            : (message.TryGetAttribute(StunAttributeType.MappedAddress, out ReadOnlySpan<byte> plain) & AddressAttribute.TryRead(plain, out mapped));
        if (!found)
        {
            lines.AppendLine("the response carries no mapped address");
            return 1;
        }

        lines.AppendLine(Invariant, $"local address:    {local}");
        lines.AppendLine(Invariant, $"mapped address:   {mapped}");
        AppendAddress(message, StunAttributeType.ResponseOrigin, "response origin:  ", lines);
        AppendAddress(message, StunAttributeType.OtherAddress, "other address:    ", lines);
        lines.AppendLine(Invariant, $"round trip:       {rtt.TotalMilliseconds:0.000} ms");
        return 0;
    }

    private static void AppendAddress(in StunMessage message, StunAttributeType type, string label, StringBuilder lines)
    {
        if (message.TryGetAttribute(type, out ReadOnlySpan<byte> value) && AddressAttribute.TryRead(value, out StunAddress address))
        {
            lines.Append(label).AppendLine(address.ToString());
        }
    }
}

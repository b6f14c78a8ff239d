using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;

// A bounded signaling load on loopback: N WebSocket peers in rooms of R, each sending addressed
// ~300-byte messages to a random roommate for D seconds at a total target rate; prints
// connections held, messages per second, delivery latency percentiles, and the server's memory
// per connection when its PID is given. --sources K spreads the client sockets over the
// source addresses 127.0.1.1 .. 127.0.1.K (each address has its own ephemeral ports); --seconds 0
// only connects, joins and measures the memory of the idle connections. Several --url values
// (comma-separated) spread the peers over daemons that share rooms: peer i connects to url i mod
// n, so every room spans them; --server-pid then takes as many PIDs, and the figures are their sums.
// --transport polling has the peers use the HTTP fallback (long polls and posts) instead of
// WebSockets; --idle-seconds S then also holds the idle peers S seconds and prints the server's
// CPU and the requests per second they cost.
var arguments = ParseArguments(args);
bool polling = arguments.GetValueOrDefault("transport", "websocket") == "polling";
Uri[] urls = [.. arguments.GetValueOrDefault("url", "ws://127.0.0.1:8080/signal").Split(',').Select(u => new Uri(u))];
int peers = int.Parse(arguments.GetValueOrDefault("peers", "1000"), CultureInfo.InvariantCulture);
int roomSize = int.Parse(arguments.GetValueOrDefault("room-size", "10"), CultureInfo.InvariantCulture);
int seconds = Math.Min(120, int.Parse(arguments.GetValueOrDefault("seconds", "10"), CultureInfo.InvariantCulture));
int sources = Math.Clamp(int.Parse(arguments.GetValueOrDefault("sources", "1"), CultureInfo.InvariantCulture), 1, 250);
HttpMessageInvoker?[] invokers = [.. Enumerable.Range(1, sources).Select(i => sources == 1 ? null : new HttpMessageInvoker(FromSource(IPAddress.Parse($"127.0.1.{i}"))))];
int rate = int.Parse(arguments.GetValueOrDefault("rate", "10000"), CultureInfo.InvariantCulture);
int[]? serverPid = arguments.TryGetValue("server-pid", out string? pid) ? [.. pid.Split(',').Select(p => int.Parse(p, CultureInfo.InvariantCulture))] : null;
int idleSeconds = Math.Min(120, int.Parse(arguments.GetValueOrDefault("idle-seconds", "0"), CultureInfo.InvariantCulture));
HttpClient[] pollers = [.. Enumerable.Range(1, sources).Select(i => new HttpClient(sources == 1 ? new SocketsHttpHandler() : FromSource(IPAddress.Parse($"127.0.1.{i}"))) { Timeout = TimeSpan.FromSeconds(60) })];

long rssBefore = Rss(serverPid);
double cpuBefore = CpuMs(serverPid);
long rssHalf = 0;
var clients = new Client[peers];
var connect = Stopwatch.StartNew();
for (int start = 0; start < peers; start += 100)
{
    if (start == peers / 2 / 100 * 100 && start > 0)
    {
        // The slope between half and all the connections leaves out fixed costs (heap budget, threads).
        await Task.Delay(1000);
        rssHalf = Rss(serverPid);
    }

    var batch = new List<Task>();
    for (int i = start; i < Math.Min(peers, start + 100); i++)
    {
        clients[i] = new Client(i, $"room-{i / roomSize}", polling ? pollers[i % sources] : null);
        batch.Add(clients[i].ConnectAndJoin(urls[i % urls.Length], invokers[i % sources]));
    }

    await Task.WhenAll(batch).WaitAsync(TimeSpan.FromSeconds(60));
}

connect.Stop();
double cpuConnected = CpuMs(serverPid);
await Task.Delay(1000);
long rssConnected = Rss(serverPid);
Console.WriteLine($"connections held: {peers} (joined in {connect.Elapsed.TotalSeconds:0.0} s, rooms of {roomSize})");
if (serverPid is not null)
{
    int half = peers / 2 / 100 * 100;
    Console.WriteLine($"server RSS: {rssBefore / 1024.0 / 1024:0.0} MiB idle, {rssHalf / 1024.0 / 1024:0.0} MiB with {half} peers, {rssConnected / 1024.0 / 1024:0.0} MiB with {peers}");
    Console.WriteLine($"memory per connection: {(rssConnected - rssHalf) / 1024.0 / (peers - half):0.0} KiB (RSS slope from {half} to {peers} peers; {(rssConnected - rssBefore) / 1024.0 / peers:0.0} KiB counting from idle)");
    Console.WriteLine($"server CPU: {cpuConnected - cpuBefore:0} ms for the connects and joins, {(cpuConnected - cpuBefore) * 1000 / peers:0} ms per 1,000");
}

if (idleSeconds > 0)
{
    long requestsBefore = clients.Sum(c => c.Requests);
    double cpuIdleStart = CpuMs(serverPid);
    await Task.Delay(TimeSpan.FromSeconds(idleSeconds));
    double cpuIdle = CpuMs(serverPid) - cpuIdleStart;
    long requests = clients.Sum(c => c.Requests) - requestsBefore;
    Console.WriteLine($"idle for {idleSeconds} s: {requests / (double)idleSeconds / peers:0.000} requests per second per peer, server CPU {cpuIdle:0} ms ({cpuIdle / idleSeconds / 10:0.00}% of a core)");
}

if (seconds == 0)
{
    foreach (Client client in clients)
    {
        client.Dispose();
    }

    return 0;
}

// Each peer learns its roommates from joined and peer-joined.
foreach (Client client in clients)
{
    client.ResetCounters();
}

string padding = new('x', 240);
double cpuRunStart = CpuMs(serverPid);
var run = Stopwatch.StartNew();
long sent = 0;
long interval = Stopwatch.Frequency / Math.Max(1, rate);
long next = Stopwatch.GetTimestamp();
var random = new Random(7);
while (run.Elapsed < TimeSpan.FromSeconds(seconds))
{
    Client from = clients[random.Next(peers)];
    string? to = from.RandomRoommate(random);
    if (to is not null)
    {
        string json = $"{{\"type\":\"message\",\"to\":\"{to}\",\"data\":{{\"t\":{Stopwatch.GetTimestamp()},\"pad\":\"{padding}\"}}}}";
        _ = from.Send(json);
        sent++;
    }

    next += interval;
    long wait = next - Stopwatch.GetTimestamp();
    if (wait > Stopwatch.Frequency / 1000)
    {
        await Task.Delay(TimeSpan.FromTicks(wait * TimeSpan.TicksPerSecond / Stopwatch.Frequency));
    }
}

await Task.Delay(2000);
run.Stop();
double cpuRun = CpuMs(serverPid) - cpuRunStart;
var latencies = new List<double>();
long received = 0;
long errors = 0;
foreach (Client client in clients)
{
    latencies.AddRange(client.Latencies);
    received += client.Received;
    errors += client.Errors;
}

latencies.Sort();
double Percentile(double p) => latencies.Count == 0 ? double.NaN : latencies[Math.Min(latencies.Count - 1, (int)(latencies.Count * p))];
Console.WriteLine($"messages: {sent} sent, {received} delivered, {errors} errors, {received / (double)seconds:0} msg/s delivered over {seconds} s (target {rate}/s)");
Console.WriteLine($"delivery latency: p50 {Percentile(0.50):0.00} ms, p99 {Percentile(0.99):0.00} ms, max {Percentile(1):0.00} ms");
if (serverPid is not null && received > 0)
{
    Console.WriteLine($"server CPU: {cpuRun:0} ms for the messages, {cpuRun * 1000 / received:0.0} ms per 1,000 delivered");
}
foreach (Client client in clients)
{
    client.Dispose();
}

return received >= sent * 0.99 ? 0 : 1;

// utime + stime of the server, from /proc/PID/stat (clock ticks of 10 ms).
static double CpuMs(int[]? pids) => pids is null ? double.NaN : pids.Sum(ProcessCpuMs);

static double ProcessCpuMs(int pid)
{
    if (!File.Exists($"/proc/{pid}/stat"))
    {
        return double.NaN;
    }

    string stat = File.ReadAllText($"/proc/{pid}/stat");
    string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10.0;
}

static long Rss(int[]? pids) => pids is null ? 0 : pids.Sum(ProcessRss);

static long ProcessRss(int pid)
{
    foreach (string line in File.ReadLines($"/proc/{pid}/status"))
    {
        if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
        {
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
    }

    return 0;
}

// Connections made from one local address: the server sees them coming from it.
static SocketsHttpHandler FromSource(IPAddress local)
    => new()
    {
        ConnectCallback = async (context, cancellationToken) =>
        {
            var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                socket.Bind(new IPEndPoint(local, 0));
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        },
    };

static Dictionary<string, string> ParseArguments(string[] args)
{
    var result = new Dictionary<string, string>();
    for (int i = 0; i + 1 < args.Length; i += 2)
    {
        result[args[i].TrimStart('-')] = args[i + 1];
    }

    return result;
}

internal sealed class Client(int index, string room, HttpClient? http) : IDisposable
{
    private readonly ClientWebSocket _socket = new();
    private readonly CancellationTokenSource _stop = new();
    private Uri? _session;
    private long _acknowledged;
    private long _requests;

    /// <summary>HTTP requests made so far (the fallback's polls and posts).</summary>
    public long Requests => Interlocked.Read(ref _requests);
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly List<string> _roommates = [];
    private readonly Lock _sync = new();
    private readonly TaskCompletionSource _joined = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public List<double> Latencies { get; } = [];

    public long Received { get; private set; }

    public long Errors { get; private set; }

    public async Task ConnectAndJoin(Uri url, HttpMessageInvoker? invoker)
    {
        if (http is not null)
        {
            var endpoint = new UriBuilder(url) { Scheme = url.Scheme == "wss" ? "https" : "http" }.Uri;
            using HttpResponseMessage opened = await http.PostAsync(new Uri(endpoint + "/poll"), null);
            opened.EnsureSuccessStatusCode();
            using JsonDocument session = JsonDocument.Parse(await opened.Content.ReadAsStringAsync());
            _session = new Uri($"{endpoint}/poll/{session.RootElement.GetProperty("session").GetString()}");
            _ = PollLoop();
        }
        else
        {
            await _socket.ConnectAsync(url, invoker, CancellationToken.None);
            _ = ReceiveLoop();
        }

        await Send($"{{\"type\":\"join\",\"room\":\"{room}\",\"name\":\"load-{index}\"}}");
        await _joined.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    public string? RandomRoommate(Random random)
    {
        lock (_sync)
        {
            return _roommates.Count == 0 ? null : _roommates[random.Next(_roommates.Count)];
        }
    }

    public void ResetCounters()
    {
        lock (_sync)
        {
            Latencies.Clear();
            Received = 0;
            Errors = 0;
        }
    }

    public async Task Send(string json)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(json);
        await _sendLock.WaitAsync();
        try
        {
            if (http is not null)
            {
                Interlocked.Increment(ref _requests);
                using var content = new ByteArrayContent(bytes);
                using HttpResponseMessage response = await http.PostAsync(_session, content);
                if (!response.IsSuccessStatusCode)
                {
                    Errors++;
                }
            }
            else
            {
                await _socket.SendAsync(bytes, WebSocketMessageType.Text, true, CancellationToken.None);
            }
        }
        catch (Exception e) when (e is WebSocketException or HttpRequestException)
        {
            Errors++;
        }
        finally
        {
            _sendLock.Release();
        }
    }

    private async Task ReceiveLoop()
    {
        byte[] buffer = new byte[4096];
        try
        {
            while (_socket.State == WebSocketState.Open)
            {
                int filled = 0;
                ValueWebSocketReceiveResult result;
                do
                {
                    if (filled == buffer.Length)
                    {
                        Array.Resize(ref buffer, buffer.Length * 2);
                    }

                    result = await _socket.ReceiveAsync(buffer.AsMemory(filled), CancellationToken.None);
                    filled += result.Count;
                }
                while (!result.EndOfMessage);

                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return;
                }

                Handle(buffer.AsSpan(0, filled));
            }
        }
        catch (WebSocketException)
        {
        }
    }

    private async Task PollLoop()
    {
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                Interlocked.Increment(ref _requests);
                using HttpResponseMessage response = await http!.GetAsync(new Uri($"{_session}?ack={_acknowledged}"), _stop.Token);
                if (!response.IsSuccessStatusCode)
                {
                    return;
                }

                using JsonDocument batch = JsonDocument.Parse(await response.Content.ReadAsByteArrayAsync(_stop.Token));
                long sequence = batch.RootElement.GetProperty("seq").GetInt64();
                JsonElement messages = batch.RootElement.GetProperty("messages");
                long first = sequence - messages.GetArrayLength() + 1;
                int i = 0;
                foreach (JsonElement message in messages.EnumerateArray())
                {
                    if (first + i++ > _acknowledged)
                    {
                        Handle(System.Text.Encoding.UTF8.GetBytes(message.GetRawText()));
                    }
                }

                _acknowledged = Math.Max(_acknowledged, sequence);
            }
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
        }
    }

    private void Handle(ReadOnlySpan<byte> message)
    {
        long now = Stopwatch.GetTimestamp();
        using JsonDocument document = JsonDocument.Parse(message.ToArray());
        JsonElement root = document.RootElement;
        string? type = root.GetProperty("type").GetString();
        lock (_sync)
        {
            switch (type)
            {
                case "joined":
                    foreach (JsonElement peer in root.GetProperty("peers").EnumerateArray())
                    {
                        _roommates.Add(peer.GetProperty("id").GetString()!);
                    }

                    _joined.TrySetResult();
                    break;
                case "peer-joined":
                    _roommates.Add(root.GetProperty("peer").GetProperty("id").GetString()!);
                    break;
                case "message":
                    long sentAt = root.GetProperty("data").GetProperty("t").GetInt64();
                    Latencies.Add((now - sentAt) * 1000.0 / Stopwatch.Frequency);
                    Received++;
                    break;
                case "error":
                    Errors++;
                    break;
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Abort();
        _socket.Dispose();
        _sendLock.Dispose();
    }
}

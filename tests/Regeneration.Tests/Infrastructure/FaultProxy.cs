// A TCP proxy in front of a service, under the test's control: it adds latency to every chunk it
// forwards, holds traffic (a black hole: the peer is there but answers nothing), or resets connections.
// Everything between callers and the service — HTTP/2 frames, gRPC calls — really crosses it.
using System.Net;
using System.Net.Sockets;

namespace Regeneration.Tests.Infrastructure;

public sealed class FaultProxy : IAsyncDisposable
{
    readonly TcpListener listener = new(IPAddress.Loopback, 0);
    readonly Uri target;
    readonly CancellationTokenSource stopping = new();
    readonly List<(Socket Client, Socket Server)> open = [];
    readonly Task accepting;
    int chunks, resets;

    public FaultProxy(string targetAddress)
    {
        target = new Uri(targetAddress);
        listener.Start();
        Address = $"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}";
        accepting = Accept();
    }

    public string Address { get; }
    public int Port => new Uri(Address).Port;

    /// <summary>Added before each chunk is forwarded, in each direction.</summary>
    public TimeSpan Latency { get; set; }
    /// <summary>While set, nothing is forwarded (it waits; TCP stays up).</summary>
    public bool BlackHole { get; set; }
    /// <summary>While set, new connections are reset as soon as they are accepted.</summary>
    public bool RefuseConnections { get; set; }

    public int ChunksForwarded => Volatile.Read(ref chunks);
    public int ConnectionsReset => Volatile.Read(ref resets);
    public int OpenConnections { get { lock (open) return open.Count; } }

    public void Heal()
    {
        Latency = TimeSpan.Zero;
        BlackHole = false;
        RefuseConnections = false;
    }

    /// <summary>Resets (TCP RST) every open connection: calls in flight fail, callers reconnect.</summary>
    public void ResetAll()
    {
        List<(Socket, Socket)> all;
        lock (open) { all = [.. open]; open.Clear(); }
        foreach (var (client, server) in all)
        {
            Reset(client);
            Reset(server);
        }
    }

    void Reset(Socket socket)
    {
        Interlocked.Increment(ref resets);
        try { socket.LingerState = new LingerOption(true, 0); socket.Close(); }
        catch (ObjectDisposedException) { }
    }

    async Task Accept()
    {
        while (!stopping.IsCancellationRequested)
        {
            Socket client;
            try { client = await listener.AcceptSocketAsync(stopping.Token); }
            catch (Exception) when (stopping.IsCancellationRequested) { return; }
            if (RefuseConnections) { Reset(client); continue; }
            _ = Serve(client);
        }
    }

    async Task Serve(Socket client)
    {
        var server = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        client.NoDelay = true;
        try { await server.ConnectAsync(target.Host, target.Port, stopping.Token); }
        catch (Exception) { Reset(client); server.Dispose(); return; }
        lock (open) open.Add((client, server));
        await Task.WhenAny(Pump(client, server), Pump(server, client));
        lock (open) open.Remove((client, server));
        client.Dispose();
        server.Dispose();
    }

    async Task Pump(Socket from, Socket to)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            while (true)
            {
                var read = await from.ReceiveAsync(buffer, SocketFlags.None, stopping.Token);
                if (read == 0) return;
                if (Latency > TimeSpan.Zero) await Task.Delay(Latency, stopping.Token);
                while (BlackHole) await Task.Delay(10, stopping.Token);
                await to.SendAsync(buffer.AsMemory(0, read), SocketFlags.None, stopping.Token);
                Interlocked.Increment(ref chunks);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException) { }
    }

    public async ValueTask DisposeAsync()
    {
        stopping.Cancel();
        listener.Stop();
        ResetAll();
        try { await accepting; } catch (OperationCanceledException) { }
    }
}

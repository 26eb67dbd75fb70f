module github.com/voxgate/voxgate/bench/peers/ttft

go 1.26.0

module gomodnet.test/bench/gofileserver

go 1.27
